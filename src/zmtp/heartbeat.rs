//! ZMTP 3.1 heartbeat bookkeeping, with time passed in.
//!
//! As libzmq does it: a PING goes out every interval; the first PING not yet
//! answered by any traffic starts the timeout, and any octet from the peer
//! stops it. A PING from the peer with a non-zero TTL starts a second timer
//! that any later traffic stops. Either timer running out means the peer is
//! dead.

use std::time::{Duration, Instant};

use super::error::ZmtpError;

/// The longest TTL a PING can carry: 65535 deciseconds.
pub const MAX_TTL: Duration = Duration::from_millis(6_553_500);

/// Heartbeat settings: libzmq's `ZMQ_HEARTBEAT_IVL`, `_TIMEOUT` and `_TTL`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeartbeatConfig {
    /// Send a PING this often; `None` sends none (HEARTBEAT_IVL 0, the
    /// default).
    pub interval: Option<Duration>,
    /// How long after a PING to wait for any traffic before declaring the
    /// peer dead; `None` means the interval (libzmq's default), zero never
    /// declares it dead.
    pub timeout: Option<Duration>,
    /// The TTL our PINGs announce: the peer may close the connection when it
    /// hears nothing from us for this long. Sent in whole deciseconds
    /// (rounded down) and at most [`MAX_TTL`]; zero announces none.
    pub ttl: Duration,
}

impl HeartbeatConfig {
    /// The TTL field of our PINGs, in deciseconds.
    pub fn ttl_deciseconds(&self) -> u16 {
        u16::try_from(self.ttl.as_millis() / 100).unwrap_or(u16::MAX)
    }
}

/// What a timer asks of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Send a PING with this TTL (deciseconds).
    Ping(u16),
}

/// One connection's heartbeat timers.
#[derive(Debug, Clone)]
pub(crate) struct Heartbeat {
    interval: Option<Duration>,
    timeout: Duration,
    ttl_deciseconds: u16,
    next_ping: Option<Instant>,
    /// Set by a PING we sent, cleared by traffic.
    ping_deadline: Option<Instant>,
    /// Set by the peer's PING TTL, cleared by traffic.
    ttl_deadline: Option<Instant>,
}

impl Heartbeat {
    /// Timers for a connection that is ready at `now`.
    pub fn new(config: &HeartbeatConfig, now: Instant) -> Heartbeat {
        let interval = config.interval.filter(|i| !i.is_zero());
        Heartbeat {
            interval,
            timeout: config.timeout.or(interval).unwrap_or(Duration::ZERO),
            ttl_deciseconds: config.ttl_deciseconds(),
            next_ping: interval.and_then(|i| now.checked_add(i)),
            ping_deadline: None,
            ttl_deadline: None,
        }
    }

    /// Octets arrived from the peer: it is alive.
    pub fn on_traffic(&mut self) {
        self.ping_deadline = None;
        self.ttl_deadline = None;
    }

    /// The peer sent a PING with this TTL.
    pub fn on_ping(&mut self, ttl_deciseconds: u16, now: Instant) {
        if ttl_deciseconds > 0 && self.ttl_deadline.is_none() {
            let ttl = Duration::from_millis(u64::from(ttl_deciseconds) * 100);
            self.ttl_deadline = now.checked_add(ttl);
        }
    }

    /// Runs the timers that are due at `now`.
    pub fn poll(&mut self, now: Instant) -> Result<Option<Due>, ZmtpError> {
        let expired = |d: Option<Instant>| d.is_some_and(|d| d <= now);
        if expired(self.ping_deadline) || expired(self.ttl_deadline) {
            return Err(ZmtpError::HeartbeatTimeout);
        }
        match (self.interval, self.next_ping) {
            (Some(interval), Some(at)) if at <= now => {
                self.next_ping = now.checked_add(interval);
                if self.ping_deadline.is_none() && !self.timeout.is_zero() {
                    self.ping_deadline = now.checked_add(self.timeout);
                }
                Ok(Some(Due::Ping(self.ttl_deciseconds)))
            }
            _ => Ok(None),
        }
    }

    /// The earliest instant a timer needs [`poll`](Self::poll).
    pub fn next_timeout(&self) -> Option<Instant> {
        [self.next_ping, self.ping_deadline, self.ttl_deadline]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn config(ivl: u64, timeout: Option<u64>, ttl: u64) -> HeartbeatConfig {
        HeartbeatConfig {
            interval: Some(Duration::from_millis(ivl)),
            timeout: timeout.map(Duration::from_millis),
            ttl: Duration::from_millis(ttl),
        }
    }

    #[test]
    fn ttl_in_deciseconds() {
        assert_eq!(config(1, None, 0).ttl_deciseconds(), 0);
        assert_eq!(config(1, None, 199).ttl_deciseconds(), 1);
        assert_eq!(config(1, None, 6_553_500).ttl_deciseconds(), 65535);
        assert_eq!(config(1, None, 10_000_000).ttl_deciseconds(), 65535);
    }

    #[test]
    fn off_by_default() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(&HeartbeatConfig::default(), t0);
        assert_eq!(h.next_timeout(), None);
        assert_eq!(h.poll(t0 + 1000 * MS), Ok(None));
    }

    #[test]
    fn pings_every_interval_and_times_out_after_silence() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(&config(100, Some(250), 3000), t0);
        assert_eq!(h.next_timeout(), Some(t0 + 100 * MS));
        assert_eq!(h.poll(t0 + 99 * MS), Ok(None));
        assert_eq!(h.poll(t0 + 100 * MS), Ok(Some(Due::Ping(30))));
        // The timeout runs from the first unanswered PING.
        assert_eq!(h.next_timeout(), Some(t0 + 200 * MS));
        assert_eq!(h.poll(t0 + 200 * MS), Ok(Some(Due::Ping(30))));
        assert_eq!(h.next_timeout(), Some(t0 + 300 * MS));
        assert_eq!(h.poll(t0 + 300 * MS), Ok(Some(Due::Ping(30))));
        assert_eq!(h.next_timeout(), Some(t0 + 350 * MS));
        assert_eq!(h.poll(t0 + 350 * MS), Err(ZmtpError::HeartbeatTimeout));
    }

    #[test]
    fn traffic_stops_the_timeout() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(&config(100, None, 0), t0);
        assert_eq!(h.poll(t0 + 100 * MS), Ok(Some(Due::Ping(0))));
        h.on_traffic();
        assert_eq!(h.poll(t0 + 199 * MS), Ok(None));
        assert_eq!(h.poll(t0 + 200 * MS), Ok(Some(Due::Ping(0))));
        // Default timeout = interval.
        assert_eq!(h.poll(t0 + 300 * MS), Err(ZmtpError::HeartbeatTimeout));
    }

    #[test]
    fn zero_timeout_never_expires() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(&config(100, Some(0), 0), t0);
        for i in 1..10 {
            assert_eq!(h.poll(t0 + i * 100 * MS), Ok(Some(Due::Ping(0))));
        }
    }

    #[test]
    fn peer_ttl() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(&HeartbeatConfig::default(), t0);
        h.on_ping(0, t0);
        assert_eq!(h.next_timeout(), None);
        h.on_ping(5, t0);
        assert_eq!(h.next_timeout(), Some(t0 + 500 * MS));
        // A second PING does not push the deadline out; traffic does.
        h.on_ping(50, t0 + 100 * MS);
        assert_eq!(h.next_timeout(), Some(t0 + 500 * MS));
        h.on_traffic();
        assert_eq!(h.next_timeout(), None);
        h.on_ping(5, t0 + 600 * MS);
        assert_eq!(h.poll(t0 + 1099 * MS), Ok(None));
        assert_eq!(h.poll(t0 + 1100 * MS), Err(ZmtpError::HeartbeatTimeout));
    }
}
