//! The delivery service: a tokio task in front of `throng::Registry`.
//!
//! Members send it requests over a channel; it runs every validation on the
//! simulation's rayon pool (never on the async threads: engine/src/server.rs,
//! "Embedding in an async service"), so requests of different groups are
//! validated in parallel while the registry orders those of one group
//! (first valid commit of an epoch wins, later ones get `LostRace`).

use std::sync::Arc;
use std::time::Instant;

use throng::crypto::SignatureKeyPair;
use throng::messages::content::MlsMessage;
use throng::messages::{GroupInfo, Proposal, RatchetTreeExtension as RatchetTreeExt};
use throng::{Accepted, Registry, Rejected};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::{Metrics, Op};

use super::cpu;

/// A request to the DS.
enum Request {
    Create {
        group_info: Box<GroupInfo>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Handle {
        group_id: Vec<u8>,
        message: Box<MlsMessage>,
        record: Option<Arc<Metrics>>,
        reply: oneshot::Sender<Result<Accepted, Rejected>>,
    },
    ProposeRemove {
        group_id: Vec<u8>,
        proposal: Box<Proposal>,
        reply: oneshot::Sender<Result<MlsMessage, String>>,
    },
    Publish {
        group_id: Vec<u8>,
        group_info: Box<GroupInfo>,
        reply: oneshot::Sender<Result<(), Rejected>>,
    },
    JoinInfo {
        group_id: Vec<u8>,
        reply: oneshot::Sender<Option<(Option<GroupInfo>, RatchetTreeExt)>>,
    },
}

/// A member's connection to the DS.
#[derive(Clone)]
pub struct DsClient {
    tx: mpsc::UnboundedSender<Request>,
}

fn gone<T>(_: T) -> String {
    "the delivery service stopped".to_string()
}

impl DsClient {
    /// Registers a new group from its creator's GroupInfo (with the tree).
    pub async fn create(&self, group_info: GroupInfo) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request::Create { group_info: Box::new(group_info), reply }).map_err(gone)?;
        rx.await.map_err(gone)?
    }

    /// Sends a handshake or application message; the DS's validation time
    /// is recorded into `record`.
    pub async fn handle(
        &self,
        group_id: &[u8],
        message: MlsMessage,
        record: Option<Arc<Metrics>>,
    ) -> Result<Accepted, Rejected> {
        let (reply, rx) = oneshot::channel();
        let req = Request::Handle { group_id: group_id.to_vec(), message: Box::new(message), record, reply };
        if self.tx.send(req).is_err() {
            return Err(Rejected::UnknownGroup);
        }
        rx.await.unwrap_or(Err(Rejected::UnknownGroup))
    }

    /// Asks the DS to propose (as the group's external sender) a Remove.
    pub async fn propose(&self, group_id: &[u8], proposal: Proposal) -> Result<MlsMessage, String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::ProposeRemove { group_id: group_id.to_vec(), proposal: Box::new(proposal), reply })
            .map_err(gone)?;
        rx.await.map_err(gone)?
    }

    /// Publishes the signed GroupInfo of the current epoch.
    pub async fn publish(&self, group_id: &[u8], group_info: GroupInfo) -> Result<(), Rejected> {
        let (reply, rx) = oneshot::channel();
        if self
            .tx
            .send(Request::Publish { group_id: group_id.to_vec(), group_info: Box::new(group_info), reply })
            .is_err()
        {
            return Err(Rejected::UnknownGroup);
        }
        rx.await.unwrap_or(Err(Rejected::UnknownGroup))
    }

    /// What a joiner fetches: the signed GroupInfo and the ratchet tree.
    pub async fn join_info(&self, group_id: &[u8]) -> Option<(Option<GroupInfo>, RatchetTreeExt)> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request::JoinInfo { group_id: group_id.to_vec(), reply }).ok()?;
        rx.await.ok()?
    }
}

/// Starts the DS task on the current tokio runtime.
pub fn spawn(registry: Arc<Registry>, signer: Arc<SignatureKeyPair>, pool: Arc<rayon::ThreadPool>) -> DsClient {
    let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
    tokio::spawn(async move {
        while let Some(req) = rx.recv().await {
            let registry = registry.clone();
            let pool = pool.clone();
            let signer = signer.clone();
            // One task per request: requests of different groups proceed
            // in parallel; the registry orders those of one group.
            tokio::spawn(async move {
                match req {
                    Request::Create { group_info, reply } => {
                        let out =
                            cpu(&pool, move || registry.create_group(&group_info, None).map_err(|e| e.to_string()))
                                .await;
                        let _ = reply.send(out);
                    }
                    Request::Handle { group_id, message, record, reply } => {
                        let out = cpu(&pool, move || {
                            let t = Instant::now();
                            let out = registry.handle(&group_id, &message);
                            if let Some(m) = record {
                                m.record(Op::DsHandle, t.elapsed());
                            }
                            out
                        })
                        .await;
                        let _ = reply.send(out);
                    }
                    Request::ProposeRemove { group_id, proposal, reply } => {
                        let out = cpu(&pool, move || {
                            registry.propose_external(&group_id, 0, &signer, *proposal).map_err(|e| e.to_string())
                        })
                        .await;
                        let _ = reply.send(out);
                    }
                    Request::Publish { group_id, group_info, reply } => {
                        let out = cpu(&pool, move || registry.publish_group_info(&group_id, *group_info)).await;
                        let _ = reply.send(out);
                    }
                    Request::JoinInfo { group_id, reply } => {
                        let out = cpu(&pool, move || {
                            let signed = registry.signed_group_info(&group_id);
                            registry.ratchet_tree(&group_id).map(|t| (signed, t))
                        })
                        .await;
                        let _ = reply.send(out);
                    }
                }
            });
        }
    });
    DsClient { tx }
}
