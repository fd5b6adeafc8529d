//! Parts shared by the stacks that are not backing services (those come from
//! [`stackdsl::catalog`]): the nginx edge of single-host Compose deployments.

use stackdsl::prelude::*;

/// An nginx load balancer in front of every replica of `upstream` (`least_conn`, client
/// addresses forwarded), listening on 8080 and published on the host as `host_port`.
/// Compose only: Kubernetes routes through its Service and Ingress instead.
#[track_caller]
pub fn edge(s: &mut Stack, upstream: &Endpoint, host_port: u16) -> ServiceRef {
    let http = Port::http("http", 8080);
    let conf = Template::new()
        .text("upstream backend {\n    least_conn;\n    server ")
        .host(upstream.service())
        .text(":")
        .port(upstream)
        .text(";\n}\n\n")
        .text(lines(&[
            "server {",
            &format!("    listen {};", http.number),
            "    server_tokens off;",
            "",
            "    location = /healthz {",
            "        access_log off;",
            "        return 200 \"ok\\n\";",
            "    }",
            "",
            "    location / {",
            "        proxy_pass http://backend;",
            "        proxy_set_header Host $host;",
            "        proxy_set_header X-Real-IP $remote_addr;",
            "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "        proxy_set_header X-Forwarded-Proto $scheme;",
            "    }",
            "}",
        ]));
    let dev = s.env == Env::Dev;
    s.add(
        Service::new("edge")
            .image(Image::new("nginxinc/nginx-unprivileged").tag("1.27.3-alpine"))
            .port(http)
            .mount(Mount::file(
                "edge-nginx-conf",
                "/etc/nginx/conf.d/default.conf",
                conf,
            ))
            .mount(Mount::scratch("/tmp"))
            .readiness(Probe::http_get("/healthz", http).period(5))
            // The Alpine image's BusyBox `wget` runs the probe in Compose.
            .health_tool(HealthTool::Wget)
            .depends_on(upstream.service())
            // The unprivileged image's `nginx` user.
            .security(Security::restricted().run_as_user(101))
            .only_on([Target::Compose])
            // Loopback in dev; in front of the single-host deployments, every interface.
            .apply(|edge| {
                if dev {
                    edge.publish(http, host_port)
                } else {
                    edge.publish_public(http, host_port)
                }
            })
            .resources(
                Resources::requests(Cpu::m(50), Memory::mi(32))
                    .limits(Cpu::m(250), Memory::mi(128)),
            ),
    )
}

/// Joins lines, each ending in a newline (config files written in Rust).
pub fn lines(lines: &[&str]) -> String {
    lines.iter().flat_map(|l| [*l, "\n"]).collect()
}
