//! [`Item`]: what the store keeps per key besides the key and expiry.

use super::value::Value;
use ix_nic::SharedBuf;

/// Bytes memcached counts per item beyond key and value (its header, CAS, the
/// key's NUL and the value's "\r\n"): used for `bytes` and the memory limit.
pub const ITEM_OVERHEAD: usize = 48 + 8 + 1 + 2;

/// An immutable stored item (a store replaces it, never edits it).
#[derive(Debug)]
pub struct Item<S: SharedBuf> {
    /// The client's 32-bit flags.
    pub flags: u32,
    /// The CAS unique.
    pub cas: u64,
    /// Relative time it was stored (for delayed `flush_all`).
    pub time: u32,
    /// The value, by reference.
    pub value: Value<S>,
    /// Bytes accounted for it: key + value + [`ITEM_OVERHEAD`].
    pub size: usize,
}

/// The bytes an item of this key and value length is accounted.
pub fn item_size(key_len: usize, value_len: usize) -> usize {
    ITEM_OVERHEAD + key_len + value_len
}
