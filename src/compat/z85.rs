//! Z85 (ZeroMQ RFC 32), as `zmq_z85_encode`/`zmq_z85_decode`.

use std::string::FromUtf8Error;

const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Why [`z85_encode`] refused its input.
#[derive(Debug)]
pub enum EncodeError {
    /// The input's length is not a multiple of 4.
    BadLength,
    /// Kept from the `zmq` crate; Z85 text is ASCII, so never returned.
    FromUtf8Error(FromUtf8Error),
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::BadLength => f.write_str("Invalid data length. Should be multiple of 4."),
            EncodeError::FromUtf8Error(e) => write!(f, "UTF8 conversion error: {e}"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Why [`z85_decode`] refused its input.
#[derive(Debug)]
pub enum DecodeError {
    /// The input's length is not a multiple of 5.
    BadLength,
    /// The input holds a NUL byte.
    NulError(std::ffi::NulError),
    /// The input holds a character outside Z85's alphabet, or a group
    /// above 2^32 - 1 (libzmq's decoder fails on both).
    BadChar,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::BadLength => f.write_str("Invalid data length. Should be multiple of 5."),
            DecodeError::NulError(e) => write!(f, "Nul byte error: {e}"),
            DecodeError::BadChar => f.write_str("Invalid Z85 character"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Encodes `data` as Z85 text: 5 characters for each 4 bytes.
///
/// # Errors
///
/// [`EncodeError::BadLength`] if `data`'s length is not a multiple of 4.
pub fn z85_encode(data: &[u8]) -> Result<String, EncodeError> {
    if data.len() % 4 != 0 {
        return Err(EncodeError::BadLength);
    }
    let mut text = String::with_capacity(data.len() / 4 * 5);
    for group in data.chunks_exact(4) {
        let mut value = u32::from_be_bytes([group[0], group[1], group[2], group[3]]);
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        text.extend(digits.iter().map(|&d| d as char));
    }
    Ok(text)
}

/// Decodes Z85 text into bytes: 4 for each 5 characters.
///
/// # Errors
///
/// [`DecodeError::BadLength`] if the length is not a multiple of 5,
/// [`DecodeError::NulError`] for a NUL byte, [`DecodeError::BadChar`] for
/// any other character outside the alphabet.
pub fn z85_decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    if text.len() % 5 != 0 {
        return Err(DecodeError::BadLength);
    }
    if let Err(e) = std::ffi::CString::new(text) {
        return Err(DecodeError::NulError(e));
    }
    let mut data = Vec::with_capacity(text.len() / 5 * 4);
    for group in text.as_bytes().chunks_exact(5) {
        let mut value: u64 = 0;
        for &c in group {
            let digit = ALPHABET
                .iter()
                .position(|&a| a == c)
                .ok_or(DecodeError::BadChar)?;
            value = value * 85 + digit as u64;
        }
        let value = u32::try_from(value).map_err(|_| DecodeError::BadChar)?;
        data.extend_from_slice(&value.to_be_bytes());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc32_test_vector_round_trips() {
        let bytes = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(z85_encode(&bytes).unwrap(), "HelloWorld");
        assert_eq!(z85_decode("HelloWorld").unwrap(), bytes);
        assert!(matches!(
            z85_decode("Hello~orld"),
            Err(DecodeError::BadChar)
        ));
        assert!(matches!(z85_decode("%%%%%"), Err(DecodeError::BadChar)));
    }
}
