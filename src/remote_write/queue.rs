//! An endpoint's backlog: series waiting to be sent, bounded by a number of samples.
//!
//! The queue is the only holder of unsent data. A request is a view of its front
//! (`take`), removed only once the request is over (`complete`), so a request that
//! fails with a retryable error is retried with the same samples. When new data does
//! not fit, the oldest samples go first, even those of a request in flight: if that
//! request then succeeds they were delivered after all and are counted as sent; if it
//! fails they are lost and counted as dropped. Every sample is counted exactly once:
//! sent, failed (rejected by the receiver) or dropped.

use std::collections::VecDeque;
use std::sync::Arc;

use super::batch::SeriesBatch;

/// A range of one batch's series.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub batch: Arc<SeriesBatch>,
    pub start: u32,
    pub end: u32,
}

impl Chunk {
    fn len(&self) -> usize {
        (self.end - self.start) as usize
    }
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    /// Sequence number of its first sample.
    start: u64,
    len: usize,
    /// Of its samples, how many the queue dropped for room since it was taken.
    dropped: usize,
}

/// How a request ended, for `Queue::complete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// The receiver refused the data for good (4xx other than 429).
    Rejected,
    /// Worth retrying (5xx, 429, network).
    Retry,
}

/// What `Queue::complete` counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub sent: usize,
    pub failed: usize,
    pub retried: usize,
}

#[derive(Debug)]
pub struct Queue {
    chunks: VecDeque<Chunk>,
    len: usize,
    capacity: usize,
    /// Sequence number of the front sample (samples removed so far).
    head: u64,
    in_flight: Option<InFlight>,
}

impl Queue {
    pub fn new(capacity: usize) -> Queue {
        Queue {
            chunks: VecDeque::new(),
            len: 0,
            capacity: capacity.max(1),
            head: 0,
            in_flight: None,
        }
    }

    /// Samples held (including those of a request in flight).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the bound (a reload); returns the samples dropped to fit.
    pub fn set_capacity(&mut self, capacity: usize) -> usize {
        self.capacity = capacity.max(1);
        self.make_room(0)
    }

    /// Appends `chunk`; returns how many samples were dropped (oldest first) to keep
    /// within the capacity, not counting those of the request in flight (see
    /// `complete`).
    pub fn push(&mut self, chunk: Chunk) -> usize {
        if chunk.end <= chunk.start {
            return 0;
        }
        let n = chunk.len();
        self.chunks.push_back(chunk);
        self.len += n;
        self.make_room(0)
    }

    /// Drops front samples until `extra` more would fit.
    fn make_room(&mut self, extra: usize) -> usize {
        let over = (self.len + extra).saturating_sub(self.capacity);
        if over == 0 {
            return 0;
        }
        let start = self.head;
        self.remove_front(over);
        match &mut self.in_flight {
            Some(f) => {
                // The part of [start, start+over) inside the request in flight.
                let lo = start.max(f.start);
                let hi = (start + over as u64).min(f.start + f.len as u64);
                let inside = hi.saturating_sub(lo) as usize;
                f.dropped += inside;
                over - inside
            }
            None => over,
        }
    }

    fn remove_front(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        self.head += n as u64;
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            let len = front.len();
            if len <= n {
                n -= len;
                self.chunks.pop_front();
            } else {
                front.start += n as u32;
                n = 0;
            }
        }
    }

    /// Whether a request is in flight or waiting to be retried.
    pub fn has_request(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Whether the request's samples are all still queued, so its encoded body can be
    /// sent again as is.
    pub fn request_intact(&self) -> bool {
        self.in_flight.is_some_and(|f| f.dropped == 0)
    }

    /// Forgets a request that lost samples to `make_room` while waiting for a retry;
    /// returns those samples, now counted as dropped. What is left of it stays at the
    /// front and goes into the next `take`.
    pub fn discard_request(&mut self) -> usize {
        self.in_flight.take().map_or(0, |f| f.dropped)
    }

    /// Starts a request with up to `max` samples from the front: the chunks to encode.
    /// Empty when the queue is empty or a request is already open.
    pub fn take(&mut self, max: usize) -> Vec<Chunk> {
        if self.in_flight.is_some() || self.len == 0 {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut left = max.max(1);
        for c in &self.chunks {
            if left == 0 {
                break;
            }
            let n = c.len().min(left);
            out.push(Chunk {
                batch: Arc::clone(&c.batch),
                start: c.start,
                end: c.start + n as u32,
            });
            left -= n;
        }
        let len = max.max(1) - left;
        self.in_flight = Some(InFlight {
            start: self.head,
            len,
            dropped: 0,
        });
        out
    }

    /// Ends the open request's attempt.
    pub fn complete(&mut self, outcome: Outcome) -> Counted {
        let Some(f) = self.in_flight else {
            return Counted::default();
        };
        match outcome {
            Outcome::Sent | Outcome::Rejected => {
                self.in_flight = None;
                let end = f.start + f.len as u64;
                let still_queued = end.saturating_sub(self.head) as usize;
                self.remove_front(still_queued);
                if outcome == Outcome::Sent {
                    Counted {
                        sent: f.len,
                        ..Counted::default()
                    }
                } else {
                    Counted {
                        failed: f.len,
                        ..Counted::default()
                    }
                }
            }
            Outcome::Retry => Counted {
                retried: f.len - f.dropped,
                ..Counted::default()
            },
        }
    }

    /// Empties the queue (shutdown past its deadline); returns the samples lost,
    /// including those of an open request that were already dropped for room.
    pub fn clear(&mut self) -> usize {
        let lost = self.len + self.discard_request();
        self.chunks.clear();
        self.head += self.len as u64;
        self.len = 0;
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::super::batch::BatchBuilder;
    use super::*;
    use crate::model::{labels, MetricFamily};

    fn chunk(n: usize) -> Chunk {
        let mut f = MetricFamily::gauge("g", "G.");
        for i in 0..n {
            f.push(labels(&[("i", &i.to_string())]), i as f64);
        }
        let mut b = BatchBuilder::new(0);
        for s in &f.samples {
            b.add(&f, s);
        }
        let batch = Arc::new(b.finish());
        Chunk {
            end: batch.len() as u32,
            batch,
            start: 0,
        }
    }

    fn first_value(chunks: &[Chunk]) -> f64 {
        let c = &chunks[0];
        f64::from_bits(c.batch.get(c.start as usize).unwrap().1)
    }

    #[test]
    fn the_oldest_samples_go_first_and_are_counted_once() {
        let mut q = Queue::new(10);
        assert_eq!(q.push(chunk(6)), 0);
        assert_eq!(q.push(chunk(6)), 2);
        assert_eq!(q.len(), 10);
        let taken = q.take(3);
        assert_eq!(first_value(&taken), 2.0, "values 0 and 1 were dropped");
        assert_eq!(taken.iter().map(Chunk::len).sum::<usize>(), 3);
        assert!(q.take(3).is_empty(), "one request at a time");
        assert_eq!(
            q.complete(Outcome::Sent),
            Counted {
                sent: 3,
                ..Default::default()
            }
        );
        assert_eq!(q.len(), 7);
        // A single chunk larger than the queue keeps its newest part.
        let mut q = Queue::new(4);
        assert_eq!(q.push(chunk(10)), 6);
        assert_eq!(first_value(&q.take(4)), 6.0);
    }

    #[test]
    fn samples_dropped_while_in_flight_count_as_sent_if_the_request_succeeds() {
        let mut q = Queue::new(10);
        q.push(chunk(10));
        let taken = q.take(4);
        assert_eq!(taken.iter().map(Chunk::len).sum::<usize>(), 4);
        // 3 new samples: the 3 oldest (in flight) make room, counted later.
        assert_eq!(q.push(chunk(3)), 0);
        assert!(!q.request_intact());
        let c = q.complete(Outcome::Sent);
        assert_eq!(c.sent, 4);
        assert_eq!(q.len(), 9, "the 4th in-flight sample is removed");
        assert!(!q.has_request());
    }

    #[test]
    fn samples_dropped_while_in_flight_are_lost_if_it_fails() {
        let mut q = Queue::new(10);
        q.push(chunk(10));
        q.take(4);
        q.push(chunk(3));
        let c = q.complete(Outcome::Retry);
        assert_eq!(c.retried, 1);
        assert!(q.has_request());
        assert_eq!(q.discard_request(), 3, "now counted as dropped");
        let next = q.take(4);
        assert_eq!(first_value(&next), 3.0, "the survivor goes first");
        assert_eq!(q.complete(Outcome::Rejected).failed, 4);
        assert_eq!(q.len(), 6);
        assert_eq!(q.clear(), 6);
        assert!(q.is_empty());
    }

    #[test]
    fn a_retry_keeps_the_same_samples_when_nothing_was_dropped() {
        let mut q = Queue::new(100);
        q.push(chunk(5));
        q.push(chunk(5));
        let taken = q.take(7);
        assert_eq!(taken.len(), 2);
        assert_eq!(q.complete(Outcome::Retry).retried, 7);
        assert!(q.request_intact());
        assert!(q.take(7).is_empty(), "still open: resend the same body");
        assert_eq!(q.complete(Outcome::Sent).sent, 7);
        assert_eq!(q.len(), 3);
        assert_eq!(q.set_capacity(2), 1);
    }
}
