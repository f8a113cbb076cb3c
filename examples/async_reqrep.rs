//! The gevent tutorial's ZeroMQ program, in Rust: a REQ task and a REP task
//! on one runtime thread, nine "Hello"/"World" exchanges over tcp on
//! 127.0.0.1, printing each switch from one task to the other.
//!
//! ```python
//! def server():                       def client():
//!     s = context.socket(zmq.REQ)         c = context.socket(zmq.REP)
//!     s.bind("tcp://127.0.0.1:5000")      c.connect("tcp://127.0.0.1:5000")
//!     for request in range(1, 10):        for request in range(1, 10):
//!         s.send("Hello")                     c.recv()
//!         print('Switched to Server ...')     print('Switched to Client ...')
//!         s.recv()                            c.send("World")
//! gevent.joinall([gevent.spawn(server), gevent.spawn(client)])
//! ```
//!
//! `cargo run --example async_reqrep -- [ENDPOINT]` (default
//! `tcp://127.0.0.1:0`, an ephemeral port; the gevent program used 5000).
//! Each `.await` that must wait hands the thread to the other task, exactly
//! where gevent switched greenlets.

use zeroring::{AsyncSocket, Context, SocketType};

async fn server(mut socket: AsyncSocket) -> zeroring::Result<()> {
    for request in 1..10 {
        socket.send("Hello").await?;
        println!("Switched to Server for {request}");
        // The implicit switch: the client runs while we wait for "World".
        socket.recv().await?;
    }
    Ok(())
}

async fn client(mut socket: AsyncSocket) -> zeroring::Result<()> {
    for request in 1..10 {
        socket.recv().await?;
        println!("Switched to Client for {request}");
        socket.send("World").await?;
    }
    Ok(())
}

fn main() -> zeroring::Result<()> {
    let endpoint = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tcp://127.0.0.1:0".into());
    let ctx = Context::new();
    let req = ctx.socket(SocketType::Req)?;
    req.bind(&endpoint)?;
    let rep = ctx.socket(SocketType::Rep)?;
    rep.connect(&req.get_last_endpoint()?.expect("UTF-8"))?;
    let (req, rep) = (AsyncSocket::new(req)?, AsyncSocket::new(rep)?);

    // One thread for both tasks, as gevent's one OS thread for its greenlets.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(zeroring::Error::Io)?;
    rt.block_on(async {
        let server = tokio::spawn(server(req));
        let client = tokio::spawn(client(rep));
        let (s, c) = (server.await, client.await);
        s.expect("server task panicked")?;
        c.expect("client task panicked")
    })
}
