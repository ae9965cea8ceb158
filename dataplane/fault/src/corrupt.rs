//! The corrupt fault: one bit flipped somewhere in a frame's writable bytes.

use crate::dice::Dice;

/// Flips one uniformly chosen bit of `bytes`; returns false (changing nothing) when
/// `bytes` is empty.
pub(crate) fn flip_one_bit(bytes: &mut [u8], dice: &mut Dice) -> bool {
    if bytes.is_empty() {
        return false;
    }
    let offset = dice.below(bytes.len());
    let bit = dice.below(8);
    if let Some(byte) = bytes.get_mut(offset) {
        *byte ^= 1 << bit;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dice::Direction;

    #[test]
    fn exactly_one_bit_changes() {
        let mut dice = Dice::new(3, Direction::Rx);
        let mut hit = [0u32; 16];
        for _ in 0..2000 {
            let mut bytes = [0u8; 16];
            assert!(flip_one_bit(&mut bytes, &mut dice));
            let ones: u32 = bytes.iter().map(|b| b.count_ones()).sum();
            assert_eq!(ones, 1);
            for (i, b) in bytes.iter().enumerate() {
                hit[i] += u32::from(*b != 0);
            }
        }
        assert!(
            hit.iter().all(|&h| h > 0),
            "every offset reachable: {hit:?}"
        );
    }

    #[test]
    fn empty_is_left_alone() {
        let mut dice = Dice::new(3, Direction::Tx);
        assert!(!flip_one_bit(&mut [], &mut dice));
    }
}
