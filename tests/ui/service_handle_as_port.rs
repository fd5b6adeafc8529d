// Probes take one of the service's own ports, not a service handle.
use stackdsl::prelude::*;

fn main() {
    let mut s = Stack::new("shop", Env::Dev);
    let db = s.add(Service::new("db").image(Image::new("postgres").tag("17.2")));
    s.add(Service::new("api").image(Image::new("acme/api").tag("1.0")).readiness(Probe::http_get("/ready", db)));
}
