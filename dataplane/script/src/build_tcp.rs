//! Builds the bytes of a TCP segment to inject from its spec.

use crate::build::{apply, bytes, narrow16, History};
use crate::spec::TcpSpec;
use crate::tcp_opts::{encode_opts, OptsSpec};
use crate::value::Bindings;
use smoltcp::wire::{checksum, IpProtocol};
use std::net::Ipv4Addr;

/// The segment `tcp` describes, from `src` to `dst` (for the checksum).
pub(crate) fn build_tcp(
    tcp: &TcpSpec,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    vars: &Bindings,
    hist: &History,
) -> Result<Vec<u8>, String> {
    let mut opts = match &tcp.opts {
        OptsSpec::List(list) => encode_opts(list, |v, bits| vars.resolve(v, bits))?,
        OptsSpec::Raw(p) => bytes(p, hist)?,
        OptsSpec::Any => return Err("`opts=*` cannot be sent".to_string()),
    };
    // Options end on a 32-bit boundary; zero is End of Option List.
    opts.resize(opts.len().div_ceil(4) * 4, 0);
    if opts.len() > 40 {
        return Err(format!("{} TCP option bytes; at most 40 fit", opts.len()));
    }
    let data = bytes(&tcp.payload, hist)?;
    let hdr_len = 20 + opts.len();
    let mut buf = vec![0u8; hdr_len + data.len()];
    let port = |v| vars.resolve(v, 16).map(narrow16);
    let word = |v| vars.resolve(v, 32).map(|n| (n & 0xffff_ffff) as u32);
    buf[0..2].copy_from_slice(&port(&tcp.sport)?.to_be_bytes());
    buf[2..4].copy_from_slice(&port(&tcp.dport)?.to_be_bytes());
    buf[4..8].copy_from_slice(&word(&tcp.seq)?.to_be_bytes());
    buf[8..12].copy_from_slice(&word(&tcp.ack)?.to_be_bytes());
    let off = match &tcp.off {
        Some(v) => vars.resolve(v, 4)?,
        None => hdr_len as u64 / 4,
    };
    buf[12] = ((off & 0xf) as u8) << 4;
    buf[13] = tcp.flags.map_or(0, |f| f.0);
    buf[14..16].copy_from_slice(&port(&tcp.win)?.to_be_bytes());
    buf[18..20].copy_from_slice(&port(&tcp.urg)?.to_be_bytes());
    buf[20..hdr_len].copy_from_slice(&opts);
    buf[hdr_len..].copy_from_slice(&data);
    let len = u32::try_from(buf.len()).map_err(|_| "segment too long".to_string())?;
    let pseudo = checksum::pseudo_header_v4(&src, &dst, IpProtocol::Tcp, len);
    let sum = !checksum::combine(&[pseudo, checksum::data(&buf)]);
    let csum = apply(tcp.csum, sum)?;
    buf[16..18].copy_from_slice(&csum.to_be_bytes());
    Ok(buf)
}
