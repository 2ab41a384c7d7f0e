//! Open connections, counted in total and per client address. A connection holds a `Slot`
//! while it is open; dropping the slot gives the place back. A connection beyond a limit
//! never gets a slot and is refused at once.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};

/// Which limit a refused connection ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `server.max_connections_per_client` connections from this address are open.
    PerClient,
    /// `server.max_connections` connections are open in total.
    Total,
}

pub struct Clients {
    max_total: usize,
    max_per_client: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl Clients {
    pub fn new(max_total: usize, max_per_client: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total: max_total.max(1),
            max_per_client: max_per_client.max(1),
            open: Mutex::new(Open::default()),
        })
    }

    /// A place for one more connection from `address`; `counted` is false for trusted
    /// reverse proxies, whose connections carry many clients and count only in the total.
    pub fn admit(self: &Arc<Self>, address: IpAddr, counted: bool) -> Result<Slot, Refusal> {
        let mut open = self.open.lock().expect("connection counts");
        if open.total >= self.max_total {
            return Err(Refusal::Total);
        }
        if counted {
            let mine = open.by_address.entry(address).or_default();
            if *mine >= self.max_per_client {
                return Err(Refusal::PerClient);
            }
            *mine += 1;
        }
        open.total += 1;
        Ok(Slot {
            clients: self.clone(),
            address: counted.then_some(address),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().expect("connection counts").total
    }
}

/// One open connection's place; released when dropped.
pub struct Slot {
    clients: Arc<Clients>,
    address: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.clients.open.lock().expect("connection counts");
        open.total -= 1;
        if let Some(address) = self.address
            && let Some(n) = open.by_address.get_mut(&address)
        {
            *n -= 1;
            if *n == 0 {
                // Forgotten at zero, so the map holds only addresses with open connections.
                open.by_address.remove(&address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_in_total_and_places_come_back() {
        let clients = Clients::new(3, 2);
        let (a, b, proxy): (IpAddr, IpAddr, IpAddr) = (
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "10.0.0.9".parse().unwrap(),
        );
        let a1 = clients.admit(a, true).unwrap();
        let _a2 = clients.admit(a, true).unwrap();
        assert_eq!(clients.admit(a, true).err(), Some(Refusal::PerClient));
        let _b1 = clients.admit(b, true).unwrap();
        assert_eq!(clients.admit(b, true).err(), Some(Refusal::Total));
        assert_eq!(clients.open(), 3);
        drop(a1);
        assert_eq!(clients.open(), 2);
        let _p = clients.admit(proxy, false).unwrap();
        assert_eq!(clients.admit(proxy, false).err(), Some(Refusal::Total));
        assert!(!clients.open.lock().unwrap().by_address.contains_key(&proxy));
    }
}
