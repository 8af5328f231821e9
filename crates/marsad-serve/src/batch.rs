//! Concurrent PDQ lookups gathered into batches: every PDQ lookup of every
//! request goes to a queue; one search thread per core takes whatever is
//! queued when it is free (up to [`MAX_BATCH`]) and searches it as one
//! batch through the index's batch path ([`LiveBanks::lookup_pdq_batch`],
//! which walks the tables in address order for all the queries at once),
//! then answers each request. Under load the batches grow by themselves;
//! a lone lookup is a batch of one, searched as before.

use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, Weak};

use marsad_engine::live::{LiveBanks, LiveMatch};
use marsad_hash::pdq::PdqHash;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The most lookups searched as one batch (at 10 M hashes, about 20 ms of
/// one core: bank changes wait at most that for the index's write lock).
pub const MAX_BATCH: usize = 256;

type Answer = tokio::sync::oneshot::Sender<ApiResult<Vec<LiveMatch>>>;

/// The queue of PDQ lookups and its search threads (which end when it is
/// dropped).
#[derive(Debug)]
pub struct PdqBatcher {
    queue: Sender<(PdqHash, Answer)>,
}

impl PdqBatcher {
    /// Starts `threads` search threads over the live index of `state`.
    pub fn start(state: Weak<AppState>, threads: usize) -> PdqBatcher {
        let (queue, rx) = std::sync::mpsc::channel();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..threads.max(1) {
            let (rx, state) = (rx.clone(), state.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("marsad-pdq-{n}"))
                .spawn(move || search(&rx, &state));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a PDQ search thread");
            }
        }
        PdqBatcher { queue }
    }

    /// The matches of one PDQ hash, searched with whatever else is queued.
    pub async fn lookup(&self, hash: PdqHash) -> ApiResult<Vec<LiveMatch>> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.queue
            .send((hash, answer))
            .map_err(|_| ApiError::internal("the PDQ search threads have stopped"))?;
        answered.await.map_err(|_| ApiError::internal("a PDQ search thread stopped"))?
    }
}

/// A search thread: takes the queue's next lookups, searches them as one
/// batch, answers each; ends when the queue's sender is dropped.
fn search(rx: &Mutex<Receiver<(PdqHash, Answer)>>, state: &Weak<AppState>) {
    loop {
        let batch = {
            let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
            let Ok(first) = rx.recv() else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            batch
        };
        let Some(state) = state.upgrade() else { return };
        let hashes: Vec<PdqHash> = batch.iter().map(|(h, _)| *h).collect();
        let found = state.with_live(|live: &LiveBanks| Ok(live.lookup_pdq_batch(&hashes)));
        drop(state);
        match found {
            Ok(found) => {
                for ((_, answer), matches) in batch.into_iter().zip(found) {
                    // the request may have gone (its client hung up)
                    let _ = answer.send(Ok(matches));
                }
            }
            Err(e) => {
                let status = e.status;
                for (_, answer) in batch {
                    let _ = answer.send(Err(ApiError::new(status, "index not yet ready")));
                }
            }
        }
    }
}
