//! Live fan-out of the runs executing in this process: every update is
//! published only after it is committed to the database, so a viewer never
//! sees a log line that a crash could lose. Viewers of runs executing
//! elsewhere (another replica) follow the database instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rampart_store::{LogChunk, RunNode};
use tokio::sync::broadcast;

/// How many updates a slow viewer may fall behind before it re-reads the
/// database (it loses nothing: the updates are stored).
const CHANNEL_CAPACITY: usize = 1024;

/// One committed change to a run.
#[derive(Debug)]
pub(crate) enum Update {
    Logs(LogChunk),
    Node(RunNode),
    /// The run ended (its final state is stored); nothing follows.
    End {
        status: String,
        message: Option<String>,
    },
}

/// The channels of the runs executing here, by run id.
#[derive(Default)]
pub(crate) struct Hub {
    channels: Mutex<HashMap<String, broadcast::Sender<Arc<Update>>>>,
}

impl Hub {
    fn channels(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<Arc<Update>>>> {
        self.channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens a run's channel when it starts executing here.
    pub fn open(&self, run_id: &str) -> broadcast::Sender<Arc<Update>> {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        self.channels().insert(run_id.to_owned(), sender.clone());
        sender
    }

    /// Closes it when the run has ended (after its `End` was published).
    pub fn close(&self, run_id: &str) {
        self.channels().remove(run_id);
    }

    /// Live updates of a run executing here; `None` if it is not.
    pub fn subscribe(&self, run_id: &str) -> Option<broadcast::Receiver<Arc<Update>>> {
        self.channels()
            .get(run_id)
            .map(broadcast::Sender::subscribe)
    }
}
