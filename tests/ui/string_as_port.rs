// Probes name ports by value, so a misspelt port name cannot compile.
use stackdsl::prelude::*;

fn main() {
    let _ = Service::new("api").image(Image::new("acme/api").tag("1.0")).liveness(Probe::http_get("/health", "htpp"));
}
