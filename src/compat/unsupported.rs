//! The `zmq` crate's GSSAPI accessors. zeroring does not provide the
//! mechanism, so each fails with [`Error::NotSupported`] (a `zmq`-crate
//! program then builds, and learns at the call why it cannot run).

use crate::error::{Error, Result};
use crate::Socket;

macro_rules! unsupported {
    ($($name:ident($($arg:ty)?) -> $ty:ty;)*) => {
        impl Socket {$(
            #[doc = concat!("`", stringify!($name), "`: GSSAPI is not provided.")]
            ///
            /// # Errors
            ///
            /// Always [`Error::NotSupported`].
            pub fn $name(&self $(, _value: $arg)?) -> Result<$ty> {
                Err(Error::NotSupported)
            }
        )*}
    };
}

unsupported! {
    set_gssapi_server(bool) -> ();
    is_gssapi_server() -> bool;
    set_gssapi_plaintext(bool) -> ();
    is_gssapi_plaintext() -> bool;
    set_gssapi_principal(&str) -> ();
    get_gssapi_principal() -> std::result::Result<String, Vec<u8>>;
    set_gssapi_service_principal(&str) -> ();
    get_gssapi_service_principal() -> std::result::Result<String, Vec<u8>>;
}
