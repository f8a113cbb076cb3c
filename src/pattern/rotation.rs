//! The pipes a pattern takes in turn: the list that load-balance and
//! fair-queue both rotate through.

use super::PipeKey;

#[derive(Debug, Default)]
pub(crate) struct Rotation {
    keys: Vec<PipeKey>,
    /// Index in `keys` where the next turn starts.
    next: usize,
}

impl Rotation {
    pub fn attach(&mut self, key: PipeKey) {
        self.keys.push(key);
    }

    pub fn detach(&mut self, key: PipeKey) {
        if let Some(i) = self.keys.iter().position(|&k| k == key) {
            self.keys.remove(i);
            if self.next > i {
                self.next -= 1;
            }
        }
    }

    /// Offers each pipe once, in turn from where the last turn ended; the
    /// first for which `f` returns something ends the turn, and the next
    /// turn starts after that pipe.
    #[inline(always)]
    pub fn find_map<T>(&mut self, mut f: impl FnMut(PipeKey) -> Option<T>) -> Option<T> {
        // One pipe (a SUB of one publisher, a socket with one peer): no turn.
        if let [key] = self.keys[..] {
            return f(key);
        }
        let n = self.keys.len();
        let mut i = if self.next < n { self.next } else { 0 };
        for _ in 0..n {
            let key = self.keys[i];
            i = if i + 1 < n { i + 1 } else { 0 };
            if let Some(found) = f(key) {
                self.next = i;
                return Some(found);
            }
        }
        None
    }

    /// Every pipe, in no particular order.
    pub fn keys(&self) -> &[PipeKey] {
        &self.keys
    }
}
