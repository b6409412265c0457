//! Adapters of the compared implementations to [`crate::peer::Peer`].

pub mod mls_rs;
pub mod openmls;
pub mod throng;
