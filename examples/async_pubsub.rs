//! One publisher task and several subscriber tasks, each subscribed to a
//! different topic, all on one runtime thread.
//!
//! The publisher is an XPUB: it receives each subscription as a message, so
//! it starts publishing only once every subscriber is listening (no "slow
//! joiner" loss, on any transport). It then publishes five updates on each
//! topic and an `END`; each subscriber prints what its filter lets through.
//!
//! `cargo run --example async_pubsub -- [ENDPOINT]` (default
//! `inproc://async-pubsub`; try `tcp://127.0.0.1:0` or `ipc://@pubsub`).

use zeroring::{AsyncSocket, Context, SocketType};

const TOPICS: [&str; 3] = ["weather", "sports", "news"];
const UPDATES: u32 = 5;

async fn publisher(mut publ: AsyncSocket) -> zeroring::Result<()> {
    // A subscription is a message: byte 1 then the topic.
    let mut joined = 0;
    while joined < TOPICS.len() {
        let sub = publ.recv().await?;
        if sub.first() == Some(&1) {
            println!(
                "publisher: {} subscribed",
                String::from_utf8_lossy(&sub[1..])
            );
            joined += 1;
        }
    }
    for n in 1..=UPDATES {
        for topic in TOPICS {
            publ.send_multipart([topic, &format!("update {n}")]).await?;
        }
    }
    for topic in TOPICS {
        publ.send_multipart([topic, "END"]).await?;
    }
    Ok(())
}

async fn subscriber(mut sub: AsyncSocket, topic: &'static str) -> zeroring::Result<u32> {
    let mut got = 0;
    loop {
        let msg = sub.recv_multipart().await?;
        assert_eq!(msg[0], topic.as_bytes(), "filter let another topic through");
        let body = String::from_utf8_lossy(&msg[1]);
        if body == "END" {
            println!("{topic} subscriber: {got} updates");
            return Ok(got);
        }
        println!("{topic} subscriber: {body}");
        got += 1;
    }
}

fn main() -> zeroring::Result<()> {
    let endpoint = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "inproc://async-pubsub".into());
    let ctx = Context::new();
    let publ = ctx.socket(SocketType::XPub)?;
    publ.bind(&endpoint)?;
    let endpoint = publ.get_last_endpoint()?.expect("UTF-8");
    let mut subs = Vec::new();
    for topic in TOPICS {
        let sub = ctx.socket(SocketType::Sub)?;
        sub.connect(&endpoint)?;
        sub.set_subscribe(topic.as_bytes())?;
        subs.push((AsyncSocket::new(sub)?, topic));
    }
    let publ = AsyncSocket::new(publ)?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(zeroring::Error::Io)?;
    rt.block_on(async {
        let subscribers: Vec<_> = subs
            .into_iter()
            .map(|(sub, topic)| tokio::spawn(subscriber(sub, topic)))
            .collect();
        tokio::spawn(publisher(publ))
            .await
            .expect("publisher panicked")?;
        for s in subscribers {
            assert_eq!(s.await.expect("subscriber panicked")?, UPDATES);
        }
        Ok(())
    })
}
