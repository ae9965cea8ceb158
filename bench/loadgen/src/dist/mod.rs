//! Distributions for key sizes, value sizes and inter-arrival times, in mutilate's
//! `name:params` syntax, sampled by inverse CDF.

pub mod facebook;
pub mod inverse;

use crate::error::{LoadgenError, Result};
use rand::Rng;

/// One distribution, as given to `-K`, `-V` or `-i`.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// Always `value` (`fixed:V` or a bare number).
    Fixed(f64),
    /// Uniform on [0, max) (`uniform:max`).
    Uniform {
        /// Upper bound.
        max: f64,
    },
    /// Normal (`normal:mean,sd`).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
    /// Exponential with rate `lambda` (`exponential:lambda`; bare `exponential` is rate 1).
    Exponential {
        /// Rate (mean 1/lambda).
        lambda: f64,
    },
    /// Generalized Pareto (`pareto:loc,scale,shape`).
    GPareto {
        /// Location.
        loc: f64,
        /// Scale.
        scale: f64,
        /// Shape.
        shape: f64,
    },
    /// Generalized extreme value (`gev:loc,scale,shape`); `fb_key` is one.
    Gev {
        /// Location.
        loc: f64,
        /// Scale.
        scale: f64,
        /// Shape.
        shape: f64,
    },
    /// Facebook ETC value sizes: a table for 0-14 bytes, then a generalized Pareto.
    FbValue,
}

impl Distribution {
    /// Parses mutilate's syntax: `fb_key`, `fb_value`, `fb_ia`, a bare number,
    /// `fixed:V`, `uniform:MAX`, `normal:M,SD`, `exponential[:L]`,
    /// `pareto:LOC,SCALE,SHAPE`, `gev:LOC,SCALE,SHAPE`. `what` names the option.
    pub fn parse(what: &'static str, text: &str) -> Result<Self> {
        let bad = |why: &str| LoadgenError::parse(what, text, why);
        match text {
            "fb_key" => {
                let (loc, scale, shape) = facebook::KEY_GEV;
                return Ok(Distribution::Gev { loc, scale, shape });
            }
            "fb_value" => return Ok(Distribution::FbValue),
            "fb_ia" => {
                return Ok(Distribution::GPareto {
                    loc: 0.0,
                    scale: facebook::IA_SCALE_US * 1e-6,
                    shape: facebook::IA_SHAPE,
                })
            }
            _ => {}
        }
        if let Ok(v) = text.parse::<f64>() {
            return finite(v)
                .map(Distribution::Fixed)
                .ok_or_else(|| bad("not a finite number"));
        }
        let (name, params) = match text.split_once(':') {
            Some((n, p)) => (n, p),
            None => (text, ""),
        };
        let values: Vec<f64> = if params.is_empty() {
            Vec::new()
        } else {
            params
                .split(',')
                .map(|p| p.trim().parse::<f64>().ok().and_then(finite))
                .collect::<Option<Vec<f64>>>()
                .ok_or_else(|| bad("parameters must be finite numbers separated by ','"))?
        };
        let want = |n: usize, form: &str| {
            if values.len() == n {
                Ok(())
            } else {
                Err(bad(&format!("expected {form}")))
            }
        };
        let dist = match name {
            "fixed" => {
                want(1, "fixed:VALUE")?;
                Distribution::Fixed(values[0])
            }
            "uniform" => {
                want(1, "uniform:MAX")?;
                Distribution::Uniform { max: values[0] }
            }
            "normal" => {
                want(2, "normal:MEAN,SD")?;
                Distribution::Normal {
                    mean: values[0],
                    sd: values[1],
                }
            }
            "exponential" => match values.len() {
                0 => Distribution::Exponential { lambda: 1.0 },
                1 => Distribution::Exponential { lambda: values[0] },
                _ => return Err(bad("expected exponential or exponential:LAMBDA")),
            },
            "pareto" => {
                want(3, "pareto:LOC,SCALE,SHAPE")?;
                Distribution::GPareto {
                    loc: values[0],
                    scale: values[1],
                    shape: values[2],
                }
            }
            "gev" => {
                want(3, "gev:LOC,SCALE,SHAPE")?;
                Distribution::Gev {
                    loc: values[0],
                    scale: values[1],
                    shape: values[2],
                }
            }
            _ => {
                return Err(bad(
                    "unknown distribution (fixed, uniform, normal, exponential, pareto, gev, \
                     fb_key, fb_value, fb_ia)",
                ))
            }
        };
        dist.validate().map_err(|why| bad(&why))?;
        Ok(dist)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        match *self {
            Distribution::Uniform { max } if max < 0.0 => Err("max must be >= 0".into()),
            Distribution::Normal { sd, .. } if sd < 0.0 => Err("sd must be >= 0".into()),
            Distribution::Exponential { lambda } if lambda <= 0.0 => {
                Err("lambda must be > 0".into())
            }
            Distribution::GPareto { scale, .. } | Distribution::Gev { scale, .. }
                if scale < 0.0 =>
            {
                Err("scale must be >= 0".into())
            }
            _ => Ok(()),
        }
    }

    /// The sample at cumulative probability `u` (0 <= u < 1): the inverse CDF.
    pub fn inverse(&self, u: f64) -> f64 {
        let u = u.clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON);
        match *self {
            Distribution::Fixed(v) => v,
            Distribution::Uniform { max } => max * u,
            Distribution::Normal { mean, sd } => mean + sd * inverse::normal(u),
            Distribution::Exponential { lambda } => inverse::exponential(u, lambda),
            Distribution::GPareto { loc, scale, shape } => inverse::gpareto(u, loc, scale, shape),
            Distribution::Gev { loc, scale, shape } => inverse::gev(u, loc, scale, shape),
            Distribution::FbValue => facebook::value_inverse(u),
        }
    }

    /// One random sample.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.inverse(rng.gen::<f64>())
    }

    /// The same family refitted to mean 1/`rate` (for `-i`: inter-arrival times in
    /// seconds at `rate` per second), as mutilate's `set_lambda` does. Assumes
    /// `rate > 0`. GEV and fb_value have no such refit and are refused.
    pub fn with_rate(&self, rate: f64) -> Result<Self> {
        let mean = 1.0 / rate;
        let refused = |name: &str| {
            Err(LoadgenError::Config(format!(
                "--iadist {name} cannot be refitted to a target rate; use exponential, \
                 fixed, uniform, normal, pareto or fb_ia"
            )))
        };
        Ok(match *self {
            Distribution::Fixed(_) => Distribution::Fixed(mean),
            Distribution::Uniform { .. } => Distribution::Uniform { max: 2.0 * mean },
            Distribution::Normal { sd, .. } => Distribution::Normal { mean, sd },
            Distribution::Exponential { .. } => Distribution::Exponential { lambda: rate },
            Distribution::GPareto { loc, shape, .. } => {
                if shape >= 1.0 || loc >= mean {
                    return Err(LoadgenError::Config(format!(
                        "--iadist pareto with shape {shape} and loc {loc} cannot have mean {mean}"
                    )));
                }
                // Mean of a generalized Pareto is loc + scale / (1 - shape).
                Distribution::GPareto {
                    loc,
                    scale: (1.0 - shape) * (mean - loc),
                    shape,
                }
            }
            Distribution::Gev { .. } => return refused("gev"),
            Distribution::FbValue => return refused("fb_value"),
        })
    }

    /// The mean where it is finite and has a closed form without special functions
    /// (GEV is left out: it needs the gamma function).
    pub fn mean(&self) -> Option<f64> {
        match *self {
            Distribution::Fixed(v) => Some(v),
            Distribution::Uniform { max } => Some(max / 2.0),
            Distribution::Normal { mean, .. } => Some(mean),
            Distribution::Exponential { lambda } => Some(1.0 / lambda),
            Distribution::GPareto { loc, scale, shape } if shape < 1.0 => {
                Some(loc + scale / (1.0 - shape))
            }
            _ => None,
        }
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests;
