//! The Facebook "ETC" workload distributions (Atikoglu et al., SIGMETRICS 2012), with
//! the parameters mutilate uses, its fb_value and fb_ia bugs corrected.

use super::inverse;

/// fb_key: key sizes, GEV(30.7984, 8.20449, 0.078688).
pub const KEY_GEV: (f64, f64, f64) = (30.7984, 8.20449, 0.078688);

/// fb_value, first part: the probability of each value size 0..=14 bytes (mutilate's
/// table; they add up to 0.44155).
pub const VALUE_TABLE: [f64; 15] = [
    0.00536, 0.00047, 0.17820, 0.09239, 0.00018, 0.02740, 0.00065, 0.00606, 0.00023, 0.00837,
    0.00837, 0.08989, 0.00092, 0.00326, 0.01980,
];

/// fb_value, the rest: generalized Pareto(15, 214.476, 0.348238). (mutilate passes
/// 214.476 and 0.348238 as location and scale with shape 1, which is not the fit.)
pub const VALUE_GPARETO: (f64, f64, f64) = (15.0, 214.476, 0.348238);

/// fb_ia: the shape of the generalized Pareto inter-arrival fit; its scale is refitted
/// to the target rate (mutilate's 16.0292 was the fit's scale in µs).
pub const IA_SHAPE: f64 = 0.154971;

/// fb_ia's scale as published, in microseconds (mean 18.97 µs, about 52.7 k/s).
pub const IA_SCALE_US: f64 = 16.0292;

/// Total probability of the table part of fb_value.
pub fn value_table_mass() -> f64 {
    VALUE_TABLE.iter().sum()
}

/// fb_value's inverse CDF: the table below its mass, the Pareto tail above it.
pub fn value_inverse(u: f64) -> f64 {
    let mut cumulative = 0.0;
    for (size, p) in VALUE_TABLE.iter().enumerate() {
        cumulative += p;
        if u < cumulative {
            return size as f64;
        }
    }
    let mass = cumulative;
    let rescaled = ((u - mass) / (1.0 - mass)).clamp(0.0, 1.0 - 1e-16);
    let (loc, scale, shape) = VALUE_GPARETO;
    inverse::gpareto(rescaled, loc, scale, shape)
}
