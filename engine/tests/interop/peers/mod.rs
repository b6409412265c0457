//! One adapter per library behind [`crate::peer`]'s traits.
//!
//! Not shared with the benches' adapters (`benches/src/peers/`): those are
//! generic over one `Peer` trait with associated types, fixed to suite 1,
//! PublicMessage handshakes and a path in every commit, and measure forks and
//! state sizes; these are trait objects in mixed-library groups, configured
//! per [`crate::peer::Setup`], with proposals, PSKs, external joins and
//! application messages.

mod mls_rs;
mod openmls;
mod throng;

use crate::peer::{Client, Named, Outcome, Setup, must};

/// The libraries under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lib {
    Throng,
    OpenMls,
    MlsRs,
}

impl Lib {
    /// A new client of this library, named `library:name`, with a fresh
    /// KeyPackage.
    pub fn client(self, setup: Setup, name: &str) -> Named<dyn Client> {
        let name = format!("{}:{name}", self.tag());
        let peer: Outcome<Box<dyn Client>> = match self {
            Lib::Throng => throng::ThrongClient::new(setup, &name).map(|c| Box::new(c) as _),
            Lib::OpenMls => openmls::OpenMlsClient::new(setup, &name).map(|c| Box::new(c) as _),
            Lib::MlsRs => mls_rs::MlsRsClient::new(setup, &name).map(|c| Box::new(c) as _),
        };
        Named { peer: must(peer, format_args!("{setup:?}: {name}: new client")), name }
    }

    fn tag(self) -> &'static str {
        match self {
            Lib::Throng => "throng",
            Lib::OpenMls => "openmls",
            Lib::MlsRs => "mls-rs",
        }
    }
}
