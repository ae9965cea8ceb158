//! What faults to inject: a [`FaultConfig`] per direction, a seed, and their checks.

use serde::Deserialize;
use std::time::Duration;

use crate::error::FaultConfigError;

/// The largest [`FaultConfig::hold_capacity`] accepted: bounds the memory reserved
/// per direction whatever a configuration file says.
pub const MAX_HOLD_CAPACITY: usize = 1 << 16;

/// Fault probabilities for one direction; every field defaults to "no fault".
///
/// Per frame the injector decides, in this order: drop (the frame is released and
/// nothing else happens to it); corrupt; duplicate (the copy follows the original
/// wherever it goes); then delay, or, if delay was not drawn, reorder. So the
/// observed rate of every fault but drop is its probability among the frames not
/// dropped, and reorder's among those neither dropped nor picked for delay.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultConfig {
    /// Probability a frame is discarded.
    pub drop: f64,
    /// Probability a second copy of a frame is delivered right after it.
    pub duplicate: f64,
    /// Probability a frame is held back until a frame arriving after it has passed it
    /// (or it has waited [`FaultConfig::reorder_wait_us`]).
    pub reorder: f64,
    /// Probability one bit of a frame is flipped. On transmit only the frame's linear
    /// part (headers) can be hit: attached payload is shared with the application and
    /// with retransmissions and must never be written.
    pub corrupt: f64,
    /// Probability a frame is held for [`FaultConfig::delay_us`].
    pub delay: f64,
    /// How long a delayed frame is held, in microseconds of the injector's clock.
    pub delay_us: u64,
    /// The longest a reordered frame waits for a frame to pass it, in microseconds:
    /// nothing is held forever when traffic stops.
    pub reorder_wait_us: u64,
    /// How many frames each hold queue (delay, reorder) can keep; when one is full the
    /// fault is skipped and counted. Reserved up front.
    pub hold_capacity: usize,
}

impl Default for FaultConfig {
    /// No faults; a 1 ms reorder bound and 256-frame hold queues for when they are
    /// turned on.
    fn default() -> Self {
        FaultConfig {
            drop: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            corrupt: 0.0,
            delay: 0.0,
            delay_us: 0,
            reorder_wait_us: 1_000,
            hold_capacity: 256,
        }
    }
}

impl FaultConfig {
    /// Checks every probability is in `0.0..=1.0` and the hold capacity is bounded;
    /// `direction` ("rx" or "tx") names the table in the error.
    pub fn validate(&self, direction: &'static str) -> Result<(), FaultConfigError> {
        let probabilities = [
            ("drop", self.drop),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
            ("corrupt", self.corrupt),
            ("delay", self.delay),
        ];
        for (field, value) in probabilities {
            // `contains` is false for NaN, which is refused too.
            if !(0.0..=1.0).contains(&value) {
                return Err(FaultConfigError::Probability {
                    direction,
                    field,
                    value,
                });
            }
        }
        if self.hold_capacity > MAX_HOLD_CAPACITY {
            return Err(FaultConfigError::HoldCapacity {
                direction,
                value: self.hold_capacity,
                max: MAX_HOLD_CAPACITY,
            });
        }
        Ok(())
    }

    /// [`FaultConfig::delay_us`] as a duration.
    pub fn delay_duration(&self) -> Duration {
        Duration::from_micros(self.delay_us)
    }

    /// [`FaultConfig::reorder_wait_us`] as a duration.
    pub fn reorder_wait(&self) -> Duration {
        Duration::from_micros(self.reorder_wait_us)
    }
}

/// Everything the injector needs: the seed and each direction's faults.
///
/// Deserializes from a `[fault]` table such as
///
/// ```toml
/// [fault]
/// seed = 7
/// rx = { drop = 0.01, delay = 0.1, delay_us = 500 }
/// ```
///
/// where `seed` is required (a run must be reproducible) and a missing direction
/// injects nothing.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    /// Seeds the PRNG: the same seed and the same traffic give the same faults.
    pub seed: u64,
    /// Faults on received frames.
    #[serde(default)]
    pub rx: FaultConfig,
    /// Faults on transmitted frames.
    #[serde(default)]
    pub tx: FaultConfig,
}

impl FaultPlan {
    /// Checks both directions (see [`FaultConfig::validate`]).
    pub fn validate(&self) -> Result<(), FaultConfigError> {
        self.rx.validate("rx")?;
        self.tx.validate("tx")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Instance {
        fault: Option<FaultPlan>,
    }

    #[test]
    fn fault_table_parses() {
        let cfg: Instance = toml::from_str(
            r#"
            [fault]
            seed = 42
            [fault.rx]
            drop = 0.25
            delay = 0.5
            delay_us = 10000
            [fault.tx]
            corrupt = 1.0
            "#,
        )
        .unwrap();
        let plan = cfg.fault.unwrap();
        assert_eq!(plan.seed, 42);
        assert_eq!(plan.rx.drop, 0.25);
        assert_eq!(plan.rx.delay_duration(), Duration::from_millis(10));
        assert_eq!(plan.rx.duplicate, 0.0);
        assert_eq!(plan.rx.hold_capacity, 256, "unset fields keep defaults");
        assert_eq!(plan.tx.corrupt, 1.0);
        assert_eq!(plan.validate(), Ok(()));
    }

    #[test]
    fn absent_table_means_no_injector() {
        let cfg: Instance = toml::from_str("").unwrap();
        assert!(cfg.fault.is_none());
    }

    #[test]
    fn unknown_fields_and_missing_seed_are_refused() {
        let typo = toml::from_str::<Instance>("[fault]\nseed = 1\n[fault.rx]\ndorp = 0.1\n");
        assert!(typo.unwrap_err().to_string().contains("dorp"));
        let extra = toml::from_str::<Instance>("[fault]\nseed = 1\nrate = 0.1\n");
        assert!(extra.is_err());
        let unseeded = toml::from_str::<Instance>("[fault]\n[fault.rx]\ndrop = 0.1\n");
        assert!(unseeded.unwrap_err().to_string().contains("seed"));
    }

    #[test]
    fn probabilities_outside_unit_interval_are_refused() {
        for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            let plan = FaultPlan {
                seed: 0,
                rx: FaultConfig::default(),
                tx: FaultConfig {
                    reorder: bad,
                    ..FaultConfig::default()
                },
            };
            let err = plan.validate().unwrap_err();
            assert!(matches!(
                err,
                FaultConfigError::Probability {
                    direction: "tx",
                    field: "reorder",
                    ..
                }
            ));
            assert!(err.to_string().starts_with("fault.tx.reorder = "), "{err}");
        }
        let edges = FaultConfig {
            drop: 0.0,
            duplicate: 1.0,
            ..FaultConfig::default()
        };
        assert_eq!(edges.validate("rx"), Ok(()));
    }

    #[test]
    fn huge_hold_capacity_is_refused() {
        let cfg = FaultConfig {
            hold_capacity: MAX_HOLD_CAPACITY + 1,
            ..FaultConfig::default()
        };
        assert!(matches!(
            cfg.validate("rx"),
            Err(FaultConfigError::HoldCapacity {
                direction: "rx",
                ..
            })
        ));
    }
}
