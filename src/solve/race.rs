//! Speculative growth: a re-split solves the LP of its first area, and of each larger one
//! in turn only while the last fell short. The larger areas' LPs are started side by side
//! with the smaller ones where a thread is idle, and stopped as soon as a smaller one ends
//! the sequence. The answer is the sequence's, whatever ran: on one thread the tasks run
//! in order and a stopped one never starts, so the work is what it was.
//!
//! Why: at 1M `--seed 4` one territory's re-splits took 24 → 48 → 96 territories seven
//! times, ~0.7 s each, while the other thread waited for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Whether a task's answer is still wanted: it is not once a task earlier in the
/// sequence ended it. Cloned into the LP solver's termination callback, which is checked
/// at every interior-point step.
#[derive(Clone)]
pub(super) struct Stop {
    /// The first task known to end the sequence (`usize::MAX` while none is).
    ended_at: Arc<AtomicUsize>,
    index: usize,
}

impl Stop {
    /// A task that is never stopped.
    pub(super) fn never() -> Stop {
        Stop {
            ended_at: Arc::new(AtomicUsize::new(usize::MAX)),
            index: 0,
        }
    }

    pub(super) fn is_set(&self) -> bool {
        self.ended_at.load(Ordering::Relaxed) < self.index
    }
}

/// A task stopped before its answer was ready.
#[derive(Debug)]
pub(super) struct Stopped;

/// Runs tasks `0..n` of a sequence that ends at the first answer `ends` says so of, and
/// returns the answers up to and including that one (all `n` where none ends it). Later
/// tasks run beside earlier ones on idle threads: `join` hands the last task to a thief
/// first (it was queued first), the largest area, whose LP takes longest.
pub(super) fn first_ending<T: Send>(
    n: usize,
    solve: impl Fn(usize, &Stop) -> Result<T, Stopped> + Sync,
    ends: impl Fn(&T) -> bool + Sync,
) -> Vec<T> {
    let ended_at = Arc::new(AtomicUsize::new(usize::MAX));
    let task = |index: usize| -> Option<T> {
        let stop = Stop {
            ended_at: Arc::clone(&ended_at),
            index,
        };
        if stop.is_set() {
            return None;
        }
        let answer = solve(index, &stop).ok()?;
        if ends(&answer) {
            ended_at.fetch_min(index, Ordering::Relaxed);
        }
        Some(answer)
    };
    let mut answers = run(0, n, &task);
    // A task is stopped only after an earlier one ended the sequence, so every task up to
    // the first that ends it has its answer.
    let last = answers
        .iter()
        .position(|a| a.as_ref().is_none_or(&ends))
        .unwrap_or(n.saturating_sub(1));
    answers.truncate(last + 1);
    answers
        .into_iter()
        .map(|a| a.expect("no task before the first that ends the sequence is stopped"))
        .collect()
}

/// Tasks `from..to`, the last beside the ones before it.
fn run<T: Send>(
    from: usize,
    to: usize,
    task: &(impl Fn(usize) -> Option<T> + Sync),
) -> Vec<Option<T>> {
    match to - from {
        0 => Vec::new(),
        1 => vec![task(from)],
        _ => {
            let (mut before, last) = rayon::join(|| run(from, to - 1, task), || task(to - 1));
            before.push(last);
            before
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::first_ending;

    /// The answers are the sequence's: up to the first that ends it, every one computed,
    /// on one thread and on several; on one thread nothing after it starts.
    #[test]
    fn answers_stop_at_the_first_that_ends_the_sequence() {
        for threads in [1, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool");
            for end in 0..4 {
                let started = AtomicUsize::new(0);
                let answers = pool.install(|| {
                    first_ending(
                        4,
                        |i, _| {
                            started.fetch_add(1, Ordering::Relaxed);
                            Ok(i)
                        },
                        |&i| i == end,
                    )
                });
                assert_eq!(answers, (0..=end).collect::<Vec<_>>(), "{threads} threads");
                if threads == 1 {
                    assert_eq!(started.load(Ordering::Relaxed), end + 1);
                }
            }
            let none_ends = pool.install(|| first_ending(3, |i, _| Ok(i), |_| false));
            assert_eq!(none_ends, vec![0, 1, 2]);
        }
    }

    /// A task still running when an earlier one ends the sequence sees its stop set.
    #[test]
    fn a_later_task_is_told_to_stop() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a thread pool");
        let answers = pool.install(|| {
            first_ending(
                2,
                |i, stop| {
                    if i == 0 {
                        return Ok(0);
                    }
                    // Stopped for sure once task 0 has ended the sequence; an answer
                    // after ten seconds without the stop fails the test.
                    let started = std::time::Instant::now();
                    while !stop.is_set() {
                        if started.elapsed().as_secs() >= 10 {
                            return Ok(1);
                        }
                        std::thread::yield_now();
                    }
                    Err(super::Stopped)
                },
                |&i| i == 0,
            )
        });
        assert_eq!(answers, vec![0]);
    }
}
