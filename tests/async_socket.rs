//! Async sockets: tasks on one runtime thread, cancellation, idleness.

mod common;
use common::*;
use zeroring::{AsyncSocket, Context, SocketType::*};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn reqrep_on_one_thread() {
    bounded(|| {
        rt().block_on(async {
            let ctx = Context::new();
            let (rep, req) = pair_of(&ctx, Rep, Req, "inproc://async-reqrep");
            let (mut rep, mut req) = (
                AsyncSocket::new(rep).unwrap(),
                AsyncSocket::new(req).unwrap(),
            );
            let server = tokio::spawn(async move {
                for _ in 0..100 {
                    let q = rep.recv().await.unwrap();
                    rep.send(q).await.unwrap();
                }
            });
            for i in 0..100u32 {
                req.send(i.to_le_bytes()).await.unwrap();
                assert_eq!(req.recv().await.unwrap(), i.to_le_bytes());
            }
            server.await.unwrap();
        })
    });
}
