//! The `app_data_dictionary` extension and its components
//! (draft-ietf-mls-extensions, "Attaching Application Data to MLS
//! Messages"), and the last-resort KeyPackage mark ("Last-Resort
//! KeyPackages").

use crate::codec::{Decode, DecodeError, Encode, Reader};

use super::registered_extensions::ExtensionData;
use super::{Extension, ExtensionType};

/// `ComponentID` (draft-ietf-mls-extensions, "Component IDs").
pub type ComponentId = u16;

/// `last_resort_key_package` (draft-ietf-mls-extensions, "MLS Component
/// Types": 0x0004, in KeyPackages): marks a KeyPackage that may be used
/// more than once; its data is empty.
pub const LAST_RESORT_KEY_PACKAGE: ComponentId = 0x0004;

crate::wire_struct! {
    /// `ComponentData`: one component's data.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct ComponentData {
        /// The component.
        pub component_id: ComponentId,
        /// Its data, opaque here.
        pub data: Vec<u8>,
    }
}

/// `AppDataDictionary`, the body of the `app_data_dictionary` extension:
/// entries sorted by `component_id`, at most one each (a list that is not
/// does not decode).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct AppDataDictionary {
    /// The entries, in increasing `component_id` order.
    pub component_data: Vec<ComponentData>,
}

impl AppDataDictionary {
    /// The data of `component`, if present.
    pub fn get(&self, component: ComponentId) -> Option<&[u8]> {
        self.component_data.iter().find(|c| c.component_id == component).map(|c| c.data.as_slice())
    }
}

impl Encode for AppDataDictionary {
    fn encode(&self, out: &mut Vec<u8>) {
        self.component_data.encode(out);
    }
}

impl Decode for AppDataDictionary {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let component_data: Vec<ComponentData> = Decode::decode(r)?;
        // "MUST be sorted by component_id, and there MUST be at most one
        // entry for each component_id".
        if let Some(w) = component_data.windows(2).find(|w| w[0].component_id >= w[1].component_id) {
            return Err(DecodeError::InvalidValue {
                field: "ComponentData order",
                value: u64::from(w[1].component_id),
            });
        }
        Ok(Self { component_data })
    }
}

impl ExtensionData for AppDataDictionary {
    const EXTENSION_TYPE: ExtensionType = ExtensionType::APP_DATA_DICTIONARY;
}

/// Whether a KeyPackage's `extensions` mark it as a last-resort KeyPackage:
/// an `app_data_dictionary` holding the `last_resort_key_package`
/// component (the draft's current form), or the `last_resort` extension
/// (0x000a) of earlier drafts, which OpenMLS 0.9 and mls-rs 0.57 send. A
/// dictionary that does not decode marks nothing.
pub fn marks_last_resort(extensions: &[Extension]) -> bool {
    let legacy = extensions.iter().any(|e| e.extension_type == ExtensionType::LAST_RESORT);
    legacy
        || AppDataDictionary::find_in(extensions)
            .ok()
            .flatten()
            .is_some_and(|d| d.get(LAST_RESORT_KEY_PACKAGE).is_some())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_order_is_enforced() {
        let entry = |id| ComponentData { component_id: id, data: vec![] };
        let sorted = AppDataDictionary { component_data: vec![entry(1), entry(4)] };
        assert_eq!(AppDataDictionary::from_bytes(&sorted.to_bytes()).unwrap(), sorted);
        for bad in [vec![entry(4), entry(1)], vec![entry(4), entry(4)]] {
            assert!(AppDataDictionary::from_bytes(&AppDataDictionary { component_data: bad }.to_bytes()).is_err());
        }
        assert!(marks_last_resort(&[sorted.to_extension()]));
        let other = AppDataDictionary { component_data: vec![entry(1)] };
        assert!(!marks_last_resort(&[other.to_extension()]));
        assert!(marks_last_resort(&[Extension { extension_type: ExtensionType::LAST_RESORT, extension_data: vec![] }]));
    }
}
