//! One subscriber's queue: bounded, oldest first out when full, counting
//! what it dropped so the subscriber can be told.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::Filter;

/// Called when a mailbox that was empty gets a line (a subscriber on a
/// mio loop wakes its loop with it).
pub type Wake = Box<dyn Fn() + Send + Sync>;

/// Lines waiting for one subscriber.
pub(super) struct Mailbox {
    pub filter: Filter,
    capacity: usize,
    queue: Mutex<Queue>,
    ready: Condvar,
    wake: Option<Wake>,
}

#[derive(Default)]
struct Queue {
    lines: VecDeque<Arc<str>>,
    /// Lines dropped since the subscriber last took any.
    dropped: u64,
}

/// What a subscriber takes at once: the count dropped before these lines,
/// and the lines.
pub(super) struct Taken {
    pub dropped: u64,
    pub lines: Vec<Arc<str>>,
}

impl Mailbox {
    pub fn new(filter: Filter, capacity: usize, wake: Option<Wake>) -> Mailbox {
        Mailbox {
            filter,
            capacity: capacity.max(1),
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            wake,
        }
    }

    /// Adds `line`, dropping the oldest if full; true if one was dropped.
    pub fn push(&self, line: Arc<str>) -> bool {
        let mut queue = self.queue.lock();
        let was_empty = queue.lines.is_empty();
        let dropped = queue.lines.len() >= self.capacity;
        if dropped {
            queue.lines.pop_front();
            queue.dropped += 1;
        }
        queue.lines.push_back(line);
        drop(queue);
        if was_empty {
            self.ready.notify_all();
            if let Some(wake) = &self.wake {
                wake();
            }
        }
        dropped
    }

    /// Puts `lines` before everything queued (a new subscriber's
    /// greeting), within the capacity.
    pub fn push_front(&self, lines: Vec<Arc<str>>) {
        let mut queue = self.queue.lock();
        for line in lines.into_iter().rev() {
            if queue.lines.len() >= self.capacity {
                break;
            }
            queue.lines.push_front(line);
        }
    }

    /// Takes up to `max` lines, with the count dropped before them.
    pub fn take(&self, max: usize) -> Taken {
        let mut queue = self.queue.lock();
        let count = max.min(queue.lines.len());
        let lines = queue.lines.drain(..count).collect();
        let dropped = std::mem::take(&mut queue.dropped);
        Taken { dropped, lines }
    }

    /// Lines waiting now.
    pub fn len(&self) -> usize {
        self.queue.lock().lines.len()
    }

    /// Waits until a line is there or `timeout` has passed; true if one is.
    pub fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut queue = self.queue.lock();
        while queue.lines.is_empty() && queue.dropped == 0 {
            if self.ready.wait_until(&mut queue, deadline).timed_out() {
                break;
            }
        }
        !queue.lines.is_empty() || queue.dropped > 0
    }
}
