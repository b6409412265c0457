//! Extensions (RFC 9420 §13.4, §17.3).

use std::collections::HashSet;

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::error::{Error, ValidationError};
use crate::limits::{Limit, Limits};

/// The rules every extension list obeys, checked before anything reads
/// it: its length and each data's size within [`Limits`] (a GroupInfo's
/// `ratchet_tree` is bounded by the tree's own limit), and no type twice
/// (§13.4).
pub fn check_extension_list(extensions: &[Extension], limits: &Limits) -> Result<(), Error> {
    Limits::check(Limit::Extensions, extensions.len(), limits.max_extensions)?;
    let mut seen = HashSet::with_capacity(extensions.len());
    for e in extensions {
        if e.extension_type != ExtensionType::RATCHET_TREE {
            Limits::check(Limit::ExtensionBytes, e.extension_data.len(), limits.max_extension_bytes)?;
        }
        if !seen.insert(e.extension_type) {
            return Err(ValidationError::DuplicateExtension(e.extension_type.0).into());
        }
    }
    Ok(())
}

/// An extension type code. Any value decodes; unknown types are carried
/// through untouched (GREASE, §13.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtensionType(pub u16);

#[allow(missing_docs)]
impl ExtensionType {
    pub const APPLICATION_ID: Self = Self(1);
    pub const RATCHET_TREE: Self = Self(2);
    pub const REQUIRED_CAPABILITIES: Self = Self(3);
    pub const EXTERNAL_PUB: Self = Self(4);
    pub const EXTERNAL_SENDERS: Self = Self(5);
    /// `app_data_dictionary` (draft-ietf-mls-extensions: 0x0006).
    pub const APP_DATA_DICTIONARY: Self = Self(0x0006);
    /// `last_resort` of draft-ietf-mls-extensions up to -06 (0x000a), a
    /// KeyPackage extension that OpenMLS and mls-rs still send; the draft
    /// now marks last-resort KeyPackages with an `app_data_dictionary`
    /// component instead.
    pub const LAST_RESORT: Self = Self(0x000a);

    /// Whether RFC 9420 §17.3 registers this type (the "default" extensions
    /// every client must understand are a subset of these).
    pub fn is_registered(self) -> bool {
        (1..=5).contains(&self.0)
    }
}

impl Encode for ExtensionType {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
}

impl Decode for ExtensionType {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u16::decode(r).map(Self)
    }
}

crate::wire_struct! {
    /// `Extension` (RFC 9420 §13.4): a type and its opaque data.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Extension {
        /// What the data means.
        pub extension_type: ExtensionType,
        /// The extension's own encoding.
        pub extension_data: Vec<u8>,
    }
}

/// Finds the extension of a type in a list.
pub fn find(extensions: &[Extension], ty: ExtensionType) -> Option<&Extension> {
    extensions.iter().find(|e| e.extension_type == ty)
}
