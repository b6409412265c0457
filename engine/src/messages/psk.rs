//! Pre-shared key identifiers (RFC 9420 §8.4).

use crate::codec::{Decode, DecodeError, Encode, Reader};

/// `ResumptionPSKUsage` (RFC 9420 §8.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ResumptionPskUsage {
    Application,
    Reinit,
    Branch,
}

impl Encode for ResumptionPskUsage {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(match self {
            Self::Application => 1,
            Self::Reinit => 2,
            Self::Branch => 3,
        });
    }
}

impl Decode for ResumptionPskUsage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(r)? {
            1 => Ok(Self::Application),
            2 => Ok(Self::Reinit),
            3 => Ok(Self::Branch),
            v => Err(DecodeError::InvalidValue { field: "ResumptionPSKUsage", value: u64::from(v) }),
        }
    }
}

/// The PSK a `PreSharedKeyID` names (RFC 9420 §8.4, `PSKType`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Psk {
    /// `external(1)`: a key agreed out of band.
    External {
        /// Application-chosen identifier.
        psk_id: Vec<u8>,
    },
    /// `resumption(2)`: the resumption PSK of a group's epoch.
    Resumption {
        /// Why it is being used.
        usage: ResumptionPskUsage,
        /// The group it comes from.
        psk_group_id: Vec<u8>,
        /// The epoch it comes from.
        psk_epoch: u64,
    },
}

crate::wire_struct! {
    /// `PreSharedKeyID` (RFC 9420 §8.4).
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct PreSharedKeyId {
        /// Which PSK.
        pub psk: Psk,
        /// Fresh random value of length `Nh` per injection.
        pub psk_nonce: Vec<u8>,
    }
}

impl Encode for Psk {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::External { psk_id } => {
                out.push(1);
                psk_id.encode(out);
            }
            Self::Resumption { usage, psk_group_id, psk_epoch } => {
                out.push(2);
                usage.encode(out);
                psk_group_id.encode(out);
                psk_epoch.encode(out);
            }
        }
    }
}

impl Decode for Psk {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(r)? {
            1 => Ok(Self::External { psk_id: Vec::decode(r)? }),
            2 => Ok(Self::Resumption {
                usage: ResumptionPskUsage::decode(r)?,
                psk_group_id: Vec::decode(r)?,
                psk_epoch: u64::decode(r)?,
            }),
            v => Err(DecodeError::InvalidValue { field: "PSKType", value: u64::from(v) }),
        }
    }
}
