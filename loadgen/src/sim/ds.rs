//! The delivery service: a tokio task in front of `throng::Registry`.
//!
//! Members send it requests over a channel; it runs every validation on the
//! simulation's rayon pool (never on the async threads: engine/src/server.rs,
//! "Embedding in an async service"), so requests of different groups are
//! validated in parallel while the registry orders those of one group
//! (first valid commit of an epoch wins, later ones get `LostRace`).
//!
//! With several DS nodes (`[backend]`), each node is such a task in front
//! of its own `Registry`, and every request picks a node by the scenario's
//! routing, as a load balancer in front of stateless nodes would.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use throng::Error;
use throng::crypto::SignatureKeyPair;
use throng::internals::tree_math::LeafIndex;
use throng::messages::content::{ContentType, MlsMessage, MlsMessageBody, PrivateMessage};
use throng::messages::{GroupInfo, Proposal, RatchetTreeExtension as RatchetTreeExt};
use throng::partial::{AnnotatedCommit, AnnotatedWelcome, SenderAuthenticatedMessage};
use throng::{Accepted, AcceptedKind, Registry, Rejected};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::{Metrics, Op};
use crate::scenario::Routing;

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
        /// The partial members to annotate an accepted commit for.
        partial: Option<Vec<LeafIndex>>,
        reply: oneshot::Sender<Result<(Accepted, Annotations), Rejected>>,
    },
    AnnotateWelcome {
        group_id: Vec<u8>,
        welcome: Box<MlsMessage>,
        sender: LeafIndex,
        joiners: Vec<LeafIndex>,
        reply: oneshot::Sender<Result<Vec<Result<AnnotatedWelcome, Error>>, String>>,
    },
    SenderAuthenticate {
        group_id: Vec<u8>,
        message: Box<PrivateMessage>,
        sender: LeafIndex,
        reply: oneshot::Sender<Result<SenderAuthenticatedMessage<PrivateMessage>, String>>,
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

/// The AnnotatedCommits the DS made for an accepted commit: one per leaf
/// of `leaves` (the partial members asked for), in their order.
#[derive(Debug, Default)]
pub struct Annotations {
    /// The partial members' leaves.
    pub leaves: Vec<LeafIndex>,
    /// Each one's AnnotatedCommit, or why it got none.
    pub annotated: Vec<Result<AnnotatedCommit, Error>>,
}

/// A member's connection to the DS (to its nodes).
#[derive(Clone)]
pub struct DsClient {
    nodes: Arc<Vec<mpsc::UnboundedSender<Request>>>,
    routing: Routing,
    /// The next node (routing `alternate`).
    next: Arc<AtomicU64>,
    /// The node draws (routing `random`), seeded by the scenario.
    rng: Arc<std::sync::Mutex<ChaCha8Rng>>,
}

fn gone<T>(_: T) -> String {
    "the delivery service stopped".to_string()
}

impl DsClient {
    /// Number of DS nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The node the next request goes to.
    pub fn pick(&self) -> usize {
        let n = self.nodes.len();
        if n <= 1 {
            return 0;
        }
        match self.routing {
            Routing::Alternate => (self.next.fetch_add(1, Ordering::Relaxed) % n as u64) as usize,
            Routing::Random => crate::metrics::lock(&self.rng).random_range(0..n),
        }
    }

    fn tx(&self, node: usize) -> Result<&mpsc::UnboundedSender<Request>, String> {
        self.nodes.get(node).ok_or_else(|| format!("no DS node {node}"))
    }

    /// Registers a new group from its creator's GroupInfo (with the tree).
    pub async fn create(&self, group_info: GroupInfo) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        self.tx(self.pick())?.send(Request::Create { group_info: Box::new(group_info), reply }).map_err(gone)?;
        rx.await.map_err(gone)?
    }

    /// Sends a handshake or application message; the DS's validation time
    /// (and its node's events) is recorded into `record`.
    pub async fn handle(
        &self,
        group_id: &[u8],
        message: MlsMessage,
        record: Option<Arc<Metrics>>,
    ) -> Result<Accepted, Rejected> {
        self.handle_on(self.pick(), group_id, message, record).await
    }

    /// [`handle`](Self::handle) through node `node` (from [`pick`](Self::pick)).
    pub async fn handle_on(
        &self,
        node: usize,
        group_id: &[u8],
        message: MlsMessage,
        record: Option<Arc<Metrics>>,
    ) -> Result<Accepted, Rejected> {
        self.handle_annotating_on(node, group_id, message, record, None).await.map(|(a, _)| a)
    }

    /// [`handle_on`](Self::handle_on), and for an accepted commit the
    /// AnnotatedCommits of the partial members at `partial`
    /// (`Registry::handle_annotating`); none when `partial` is `None`.
    pub async fn handle_annotating_on(
        &self,
        node: usize,
        group_id: &[u8],
        message: MlsMessage,
        record: Option<Arc<Metrics>>,
        partial: Option<Vec<LeafIndex>>,
    ) -> Result<(Accepted, Annotations), Rejected> {
        let (reply, rx) = oneshot::channel();
        let req = Request::Handle { group_id: group_id.to_vec(), message: Box::new(message), record, partial, reply };
        let Ok(tx) = self.tx(node) else { return Err(Rejected::UnknownGroup) };
        if tx.send(req).is_err() {
            return Err(Rejected::UnknownGroup);
        }
        rx.await.unwrap_or(Err(Rejected::UnknownGroup))
    }

    /// The AnnotatedWelcomes of `joiners` for `welcome`, made by the commit
    /// of `sender` that started the DS's current epoch.
    pub async fn annotate_welcome(
        &self,
        group_id: &[u8],
        welcome: MlsMessage,
        sender: LeafIndex,
        joiners: Vec<LeafIndex>,
    ) -> Result<Vec<Result<AnnotatedWelcome, Error>>, String> {
        let (reply, rx) = oneshot::channel();
        let req = Request::AnnotateWelcome {
            group_id: group_id.to_vec(),
            welcome: Box::new(welcome),
            sender,
            joiners,
            reply,
        };
        self.tx(self.pick())?.send(req).map_err(gone)?;
        rx.await.map_err(gone)?
    }

    /// An application message with the proof of its sender (whom the
    /// member told the DS, RFC 9420 §6.3.2) for partial members.
    pub async fn sender_authenticate(
        &self,
        group_id: &[u8],
        message: PrivateMessage,
        sender: LeafIndex,
    ) -> Result<SenderAuthenticatedMessage<PrivateMessage>, String> {
        let (reply, rx) = oneshot::channel();
        let req =
            Request::SenderAuthenticate { group_id: group_id.to_vec(), message: Box::new(message), sender, reply };
        self.tx(self.pick())?.send(req).map_err(gone)?;
        rx.await.map_err(gone)?
    }

    /// Asks the DS to propose (as the group's external sender) a Remove.
    pub async fn propose(&self, group_id: &[u8], proposal: Proposal) -> Result<MlsMessage, String> {
        let (reply, rx) = oneshot::channel();
        self.tx(self.pick())?
            .send(Request::ProposeRemove { group_id: group_id.to_vec(), proposal: Box::new(proposal), reply })
            .map_err(gone)?;
        rx.await.map_err(gone)?
    }

    /// Publishes the signed GroupInfo of the current epoch.
    pub async fn publish(&self, group_id: &[u8], group_info: GroupInfo) -> Result<(), Rejected> {
        let (reply, rx) = oneshot::channel();
        let Ok(tx) = self.tx(self.pick()) else { return Err(Rejected::UnknownGroup) };
        if tx.send(Request::Publish { group_id: group_id.to_vec(), group_info: Box::new(group_info), reply }).is_err() {
            return Err(Rejected::UnknownGroup);
        }
        rx.await.unwrap_or(Err(Rejected::UnknownGroup))
    }

    /// What a joiner fetches: the signed GroupInfo and the ratchet tree.
    pub async fn join_info(&self, group_id: &[u8]) -> Option<(Option<GroupInfo>, RatchetTreeExt)> {
        let (reply, rx) = oneshot::channel();
        self.tx(self.pick()).ok()?.send(Request::JoinInfo { group_id: group_id.to_vec(), reply }).ok()?;
        rx.await.ok()?
    }
}

/// Starts one DS task per registry (node) on the current tokio runtime;
/// `seed` seeds the random routing.
pub fn spawn(
    registries: &[Arc<Registry>],
    signer: Arc<SignatureKeyPair>,
    pool: Arc<rayon::ThreadPool>,
    routing: Routing,
    seed: u64,
) -> DsClient {
    let several = registries.len() > 1;
    let nodes = registries
        .iter()
        .enumerate()
        .map(|(node, registry)| spawn_node(node, several, registry.clone(), signer.clone(), pool.clone()))
        .collect();
    DsClient {
        nodes: Arc::new(nodes),
        routing,
        next: Arc::new(AtomicU64::new(0)),
        rng: Arc::new(std::sync::Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ 0x6e6f_6465))),
    }
}

fn is_commit(message: &MlsMessage) -> bool {
    matches!(&message.body, MlsMessageBody::PublicMessage(m) if m.content.content_type() == ContentType::Commit)
}

/// One node's task. With `several` nodes, joiners' requests first bring
/// the group up to the store's head: this node may not have seen the
/// latest commit, which another node accepted.
fn spawn_node(
    node: usize,
    several: bool,
    registry: Arc<Registry>,
    signer: Arc<SignatureKeyPair>,
    pool: Arc<rayon::ThreadPool>,
) -> mpsc::UnboundedSender<Request> {
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
                    Request::Handle { group_id, message, record, partial, reply } => {
                        let out = cpu(&pool, move || {
                            let t = Instant::now();
                            let out = match partial {
                                Some(leaves) => registry
                                    .handle_annotating(&group_id, &message, &leaves)
                                    .map(|(a, annotated)| (a, Annotations { leaves, annotated })),
                                None => registry.handle(&group_id, &message).map(|a| (a, Annotations::default())),
                            };
                            if let Some(m) = record {
                                m.record(Op::DsHandle, t.elapsed());
                                match &out {
                                    Ok((a, _)) if a.kind == AcceptedKind::Commit => {
                                        m.node_count(node, |c| c.commits += 1)
                                    }
                                    Err(Rejected::LostRace { .. } | Rejected::WrongEpoch { .. })
                                        if is_commit(&message) =>
                                    {
                                        m.node_count(node, |c| c.lost_races += 1)
                                    }
                                    _ => {}
                                }
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
                    Request::AnnotateWelcome { group_id, welcome, sender, joiners, reply } => {
                        let out = cpu(&pool, move || {
                            registry
                                .with_group(&group_id, |g| g.annotate_welcome(&welcome, sender, &joiners))
                                .ok_or_else(|| "unknown group".to_string())?
                                .map_err(|e| e.to_string())
                        })
                        .await;
                        let _ = reply.send(out);
                    }
                    Request::SenderAuthenticate { group_id, message, sender, reply } => {
                        let out = cpu(&pool, move || {
                            registry
                                .with_group(&group_id, |g| g.sender_authenticate(*message, sender))
                                .ok_or_else(|| "unknown group".to_string())?
                                .map_err(|e| e.to_string())
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
                            if several {
                                // Unreachable store: the node serves what it has.
                                let _ = registry.refresh(&group_id);
                            }
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
    tx
}
