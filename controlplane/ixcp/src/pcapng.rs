//! A minimal pcapng writer (section header, one Ethernet interface with
//! nanosecond timestamps, enhanced packet blocks), enough for tcpdump and
//! Wireshark.

use ix_instance::agent_proto::CapturedFrame;
use ix_instance::capture::unhex;
use std::io::Write;

fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(out.len() + padded - body.len(), 0);
    out.extend_from_slice(&total.to_le_bytes());
}

/// The pcapng file for `frames`; frames whose hex is malformed are skipped and
/// counted in the second value.
pub fn encode(frames: &[CapturedFrame]) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    // Section header: byte-order magic, version 1.0, unknown section length.
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut out, 0x0A0D_0D0A, &shb);
    // Interface: LINKTYPE_ETHERNET, snaplen 0 (none), if_tsresol = 9 (ns).
    let mut idb = Vec::new();
    idb.extend_from_slice(&1u16.to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&0u32.to_le_bytes());
    idb.extend_from_slice(&9u16.to_le_bytes()); // if_tsresol
    idb.extend_from_slice(&1u16.to_le_bytes());
    idb.extend_from_slice(&[9, 0, 0, 0]);
    idb.extend_from_slice(&[0; 4]); // opt_endofopt
    block(&mut out, 1, &idb);
    let mut bad = 0;
    for f in frames {
        let Some(data) = unhex(&f.data_hex) else {
            bad += 1;
            continue;
        };
        let mut epb = Vec::with_capacity(20 + data.len() + 3);
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&((f.ts_ns >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(f.ts_ns as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&f.orig_len.max(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&data);
        block(&mut out, 6, &epb);
    }
    (out, bad)
}

/// Writes `frames` as pcapng to `w`; returns how many frames were skipped.
pub fn write(w: &mut impl Write, frames: &[CapturedFrame]) -> std::io::Result<usize> {
    let (bytes, bad) = encode(frames);
    w.write_all(&bytes)?;
    Ok(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_and_framed() {
        let f = CapturedFrame {
            ts_ns: 1_700_000_000_123_456_789,
            thread: 0,
            dir: "rx".into(),
            orig_len: 3,
            data_hex: "abcdef".into(),
        };
        let bad_frame = CapturedFrame {
            data_hex: "xyz".into(),
            ..f.clone()
        };
        let (bytes, bad) = encode(&[f, bad_frame]);
        assert_eq!(bad, 1);
        assert_eq!(bytes.len() % 4, 0);
        // SHB (28) + IDB (32) + EPB (32 + 4 padded).
        assert_eq!(bytes.len(), 28 + 32 + 36);
        assert_eq!(&bytes[60..64], &6u32.to_le_bytes());
        assert_eq!(&bytes[88..91], &[0xab, 0xcd, 0xef]);
    }
}
