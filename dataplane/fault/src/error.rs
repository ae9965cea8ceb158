//! Why a fault configuration was refused.

/// A [`FaultPlan`](crate::FaultPlan) or [`FaultConfig`](crate::FaultConfig) that
/// cannot be used, saying which field and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultConfigError {
    /// A probability outside `0.0..=1.0` (or not a number).
    #[error("fault.{direction}.{field} = {value}: a probability must be between 0.0 and 1.0")]
    Probability {
        /// `"rx"` or `"tx"`.
        direction: &'static str,
        /// The field's name as written in the configuration.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// A hold queue larger than [`MAX_HOLD_CAPACITY`](crate::MAX_HOLD_CAPACITY).
    #[error("fault.{direction}.hold_capacity = {value}: at most {max} frames may be held")]
    HoldCapacity {
        /// `"rx"` or `"tx"`.
        direction: &'static str,
        /// The value given.
        value: usize,
        /// The largest allowed.
        max: usize,
    },
}
