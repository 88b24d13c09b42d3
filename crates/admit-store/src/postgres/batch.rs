//! Group commit of common sales on PostgreSQL.
//!
//! A common sale ([`quick_path_applies`]) is one autocommitted statement (`sale.rs`). Sold one
//! per statement, concurrent sales of one hot quota queue on its row lock, each holding it
//! until its own commit is flushed, so that row sells one sale per WAL flush however many
//! buyers wait (MEASURED.md: past ~8 writers on one row, throughput halves). Here they share
//! statements instead: while a statement holding a quota is in flight, later sales of that
//! quota wait in the process, and as soon as it has committed, the next statement takes all
//! of them at once: one row lock, one update of the row and one commit for many sales.
//!
//! * A sale whose quotas no statement in flight holds, with nobody waiting before it and a
//!   lane free, goes at once, alone, in its caller's task: an unhurried box office pays
//!   nothing for this.
//! * Otherwise it waits. Whenever a statement ends (or a sale arrives and a lane is free), the
//!   waiting sales whose quotas are free, in arrival order, go together as one statement (up
//!   to [`MAX_BATCH`]); a sale waiting behind an earlier one for a quota keeps its place.
//! * Statements in flight never share a quota, so they never wait for each other's row locks;
//!   at most [`LANES`] run at once, and the more sales wait, the more each statement carries.
//!
//! A statement sells all of its sales or none. When they do not fit together (a quota short
//! for all of them, an overdue hold to sweep) or the statement fails, nothing of it is
//! written, and every caller sells its own sale alone (`PgStore::sell`), getting exactly the
//! answer it would have had without the others: sold, or `SoldOut` from the general path.
//! Every caller is answered only after the commit that holds its sale.
//!
//! The statements go through a small pool of their own whose sessions use generic plans
//! (`plan_cache_mode = force_generic_plan`): the statement is always the same, only its
//! arrays change, and PostgreSQL would otherwise plan it afresh on every call (its custom
//! plans look cheaper for the exact array sizes), which cost the server about half as much
//! time again as running it.

use std::borrow::Borrow;
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio::sync::oneshot;

use super::sale::{quick_path_applies, sell_plain, QuickSale};
use crate::NewSale;
use admit_core::QuotaId;

/// Statements of common sales in flight at once (on disjoint quotas). Measured with the
/// `sell` bench: with 8 buyers over 100 quotas, one or two lanes sold about a third more
/// than eight, which spend the database's CPU on one statement per sale; on one hot quota
/// only one can be in flight anyway.
pub(super) const LANES: usize = 2;
/// Most sales one statement sells.
const MAX_BATCH: usize = 64;

/// What became of a common sale here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plain {
    /// Sold and committed.
    Sold,
    /// Nothing of it was written; it is to be sold on its own. `alone`: the statement that
    /// declined held this sale only, so the quick path has nothing more to offer it.
    Declined { alone: bool },
}

/// What the statements did, counted for the tests.
#[derive(Default)]
pub(super) struct Counts {
    /// Statements that sold more than one sale, and the sales they sold.
    pub(super) batches: AtomicU64,
    pub(super) batched_sales: AtomicU64,
    /// Statements of more than one sale that sold nothing.
    pub(super) declined_batches: AtomicU64,
}

/// The common sales of one store: those waiting, and the quotas statements in flight hold.
#[derive(Clone)]
pub(super) struct PlainSales {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    state: Mutex<State>,
    counts: Counts,
}

#[derive(Default)]
struct State {
    waiting: VecDeque<Waiting>,
    /// Quotas that statements in flight hold.
    busy: HashSet<QuotaId>,
    in_flight: usize,
}

/// A common sale waiting for a statement, and where its answer goes.
struct Waiting {
    sale: NewSale,
    reply: oneshot::Sender<Plain>,
}

fn quotas(sale: &NewSale) -> impl Iterator<Item = QuotaId> + '_ {
    sale.demand.iter().map(|(q, _)| *q)
}

impl PlainSales {
    /// Connects lazily, with `options` and generic plans.
    pub(super) fn new(options: &PgConnectOptions) -> Self {
        let options = options
            .clone()
            .options([("plan_cache_mode", "force_generic_plan")]);
        let pool = PgPoolOptions::new()
            .max_connections(LANES as u32)
            .acquire_timeout(Duration::from_secs(5))
            .idle_timeout(Some(Duration::from_secs(300)))
            .test_before_acquire(false)
            .connect_lazy_with(options);
        PlainSales {
            inner: Arc::new(Inner {
                pool,
                state: Mutex::new(State::default()),
                counts: Counts::default(),
            }),
        }
    }

    #[cfg(test)]
    pub(super) fn counts(&self) -> &Counts {
        &self.inner.counts
    }

    /// Hold `quotas` as a statement in flight would, until the guard is dropped.
    #[cfg(test)]
    pub(super) fn hold(&self, quotas: &[QuotaId]) -> impl Drop {
        let mut st = self.inner.lock();
        st.busy.extend(quotas.iter().copied());
        st.in_flight += 1;
        Lane {
            inner: self.inner.clone(),
            held: quotas.to_vec(),
        }
    }

    /// Sales waiting for a statement.
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        self.inner.lock().waiting.len()
    }

    /// Sell `sale` (for which [`quick_path_applies`]) with one statement, alone or with the
    /// common sales waiting with it.
    pub(super) async fn sell(&self, sale: &NewSale) -> Plain {
        debug_assert!(quick_path_applies(sale));
        match self.inner.start(sale) {
            Start::Alone(lane) => {
                self.inner
                    .sell_together(std::slice::from_ref(sale), lane)
                    .await
            }
            // Gone unanswered (the task selling it was dropped with its runtime): it is to be
            // sold alone.
            Start::Wait(answer) => answer.await.unwrap_or(Plain::Declined { alone: false }),
        }
    }
}

/// How a common sale starts.
enum Start {
    /// At once, alone, in its caller's task.
    Alone(Lane),
    /// Waiting for a statement with others.
    Wait(oneshot::Receiver<Plain>),
}

/// A statement in flight: its quotas stay busy until it is dropped, whether it finished or
/// its task was cancelled.
struct Lane {
    inner: Arc<Inner>,
    held: Vec<QuotaId>,
}

impl Drop for Lane {
    fn drop(&mut self) {
        let mut st = self.inner.lock();
        for q in &self.held {
            st.busy.remove(q);
        }
        st.in_flight -= 1;
        // Start what waited for these quotas, if there is a runtime to run it on (outside
        // one, the next sale to arrive starts it).
        if tokio::runtime::Handle::try_current().is_ok() {
            self.inner.launch(st);
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Go at once when nothing waits, a lane is free and no statement in flight holds the
    /// sale's quotas; else wait.
    fn start(self: &Arc<Self>, sale: &NewSale) -> Start {
        let mut st = self.lock();
        let free = st.waiting.is_empty()
            && st.in_flight < LANES
            && quotas(sale).all(|q| !st.busy.contains(&q));
        if free {
            let held: Vec<QuotaId> = quotas(sale).collect();
            st.busy.extend(held.iter().copied());
            st.in_flight += 1;
            return Start::Alone(Lane {
                inner: self.clone(),
                held,
            });
        }
        let (reply, answer) = oneshot::channel();
        st.waiting.push_back(Waiting {
            sale: sale.clone(),
            reply,
        });
        self.launch(st);
        Start::Wait(answer)
    }

    /// Start statements for the waiting sales whose quotas are free, while lanes are. The
    /// tasks are spawned once `st` is unlocked: a task dropped at once drops its [`Lane`],
    /// which locks it again.
    fn launch(self: &Arc<Self>, mut st: MutexGuard<'_, State>) {
        let mut ready = Vec::new();
        while st.in_flight < LANES && !st.waiting.is_empty() {
            // Quotas a sale may not take: those in flight, and those an earlier waiting sale
            // that stays behind needs (it keeps its place).
            let mut blocked = st.busy.clone();
            let mut batch = Vec::new();
            let mut held = HashSet::new();
            let mut left = VecDeque::with_capacity(st.waiting.len());
            for w in st.waiting.drain(..) {
                if batch.len() < MAX_BATCH && quotas(&w.sale).all(|q| !blocked.contains(&q)) {
                    held.extend(quotas(&w.sale));
                    batch.push(w);
                } else {
                    blocked.extend(quotas(&w.sale));
                    left.push_back(w);
                }
            }
            st.waiting = left;
            if batch.is_empty() {
                break;
            }
            st.busy.extend(held.iter().copied());
            st.in_flight += 1;
            let lane = Lane {
                inner: self.clone(),
                held: held.into_iter().collect(),
            };
            ready.push((batch, lane));
        }
        drop(st);
        for (batch, lane) in ready {
            let inner = self.clone();
            tokio::spawn(async move {
                let (sales, replies): (Vec<NewSale>, Vec<_>) =
                    batch.into_iter().map(|w| (w.sale, w.reply)).unzip();
                let answer = inner.sell_together(&sales, lane).await;
                for reply in replies {
                    // A caller that went away leaves its sale sold (or not) all the same.
                    let _ = reply.send(answer);
                }
            });
        }
    }

    /// One statement for `sales`, holding `lane` until it has committed.
    async fn sell_together<S: Borrow<NewSale>>(&self, sales: &[S], lane: Lane) -> Plain {
        let alone = sales.len() == 1;
        let outcome = match self.pool.acquire().await {
            Ok(mut conn) => sell_plain(&mut conn, sales).await,
            Err(e) => Err(e.into()),
        };
        drop(lane);
        let counts = &self.counts;
        match outcome {
            Ok(QuickSale::Sold) => {
                if !alone {
                    counts.batches.fetch_add(1, Ordering::Relaxed);
                    counts
                        .batched_sales
                        .fetch_add(sales.len() as u64, Ordering::Relaxed);
                }
                Plain::Sold
            }
            Ok(QuickSale::Declined) => {
                if !alone {
                    counts.declined_batches.fetch_add(1, Ordering::Relaxed);
                }
                Plain::Declined { alone }
            }
            // A failed statement wrote nothing; alone, each sale meets its own error (or
            // none: a serialization failure is tried again, a colliding order code is only
            // one sale's).
            Err(e) => {
                tracing::debug!(sales = sales.len(), "common sales failed together: {e}");
                if !alone {
                    counts.declined_batches.fetch_add(1, Ordering::Relaxed);
                }
                Plain::Declined { alone: false }
            }
        }
    }
}
