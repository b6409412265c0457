//! Wire structs of RFC 9420 §6–§12, each with its encoding next to it.
//! One file per message family; semantics (validation, state changes) live
//! in the modules that act on them.

pub mod extensions;
pub mod group_context;
pub mod psk;

pub use extensions::{Extension, ExtensionType};
pub use group_context::{GroupContext, ProtocolVersion};
pub use psk::{PreSharedKeyId, Psk, ResumptionPskUsage};
