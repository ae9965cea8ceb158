//! A raw `AF_PACKET` socket bound to one kernel interface: injects Ethernet
//! frames into the kernel side of a tap port (test and tooling aid).

use std::io;

/// A raw `AF_PACKET` socket that sends frames out of one kernel interface.
pub struct PacketSocket {
    fd: libc::c_int,
    ifindex: libc::c_int,
}

impl PacketSocket {
    /// Opens a packet socket on interface `iface` of the caller's network
    /// namespace; needs `CAP_NET_RAW`.
    pub fn bind(iface: &str) -> io::Result<PacketSocket> {
        let name = std::ffi::CString::new(iface)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in interface name"))?;
        // SAFETY: valid C string.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) } as libc::c_int;
        if ifindex <= 0 {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no interface {iface}"),
            ));
        }
        let proto = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
        // SAFETY: plain socket(2) call.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, proto) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(PacketSocket { fd, ifindex })
    }

    /// Sends one Ethernet frame (destination MAC in its first 6 bytes) out of
    /// the interface; a frame shorter than 6 bytes is refused.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        let Some(dst_mac) = frame.get(..6) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "frame shorter than a MAC address",
            ));
        };
        // SAFETY: all-zero sockaddr_ll is valid; the fields set below complete it.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = self.ifindex;
        addr.sll_halen = 6;
        addr.sll_addr[..6].copy_from_slice(dst_mac);
        // SAFETY: valid fd, buffer and address of the stated sizes.
        let n = unsafe {
            libc::sendto(
                self.fd,
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n as usize != frame.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("sent {n} of {} bytes", frame.len()),
            ));
        }
        Ok(())
    }
}

impl Drop for PacketSocket {
    fn drop(&mut self) {
        // SAFETY: we own the fd.
        unsafe { libc::close(self.fd) };
    }
}
