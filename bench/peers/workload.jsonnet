// The peer workload (shared/bench/README.md) in Jsonnet, for the side-by-side benchmark.
// jrsonnet -S -m OUT --tla-code n=N workload.jsonnet writes the reference layout into OUT.
function(n)
  local ns = 'bench';
  local labels(name) = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': ns };
  local meta(name) = { name: name, namespace: ns, labels: labels(name) };
  local service(i) =
    local name = 'svc-' + i;
    [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: meta(name + '-config') { labels: labels(name) },
        data: { LOG_LEVEL: 'info', SERVICE_NAME: name, TIMEOUT_MS: '5000' },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta(name),
        spec: {
          replicas: 3,
          selector: { matchLabels: { 'app.kubernetes.io/name': name } },
          template: {
            metadata: { labels: labels(name) },
            spec: {
              containers: [{
                name: 'app',
                image: 'registry.example.com/' + name + ':1.0.0',
                ports: [{ name: 'http', containerPort: 3000, protocol: 'TCP' }],
                env: [{ name: 'NODE_ENV', value: 'production' }, { name: 'PORT', value: '3000' }],
                resources: {
                  requests: { cpu: '100m', memory: '128Mi' },
                  limits: { cpu: '500m', memory: '512Mi' },
                },
                livenessProbe: { httpGet: { path: '/health', port: 'http' } },
                readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
                securityContext: { runAsNonRoot: true },
              }],
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta(name),
        spec: {
          type: 'ClusterIP',
          selector: { 'app.kubernetes.io/name': name },
          ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }],
        },
      },
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: meta(name),
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: name },
          minReplicas: 2,
          maxReplicas: 10,
          metrics: [{
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
          }],
        },
      },
    ];
  {
    '00-namespace.yaml': std.manifestYamlStream([{
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { 'app.kubernetes.io/part-of': ns } },
    }]),
    'zz-ingress.yaml': std.manifestYamlStream([{
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: ns + '-ingress', namespace: ns, labels: { 'app.kubernetes.io/part-of': ns } },
      spec: {
        rules: [
          {
            host: 'svc-' + i + '.example.com',
            http: { paths: [{
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'svc-' + i, port: { number: 80 } } },
            }] },
          }
          for i in std.range(1, n)
        ],
      },
    }]),
  } + {
    ['svc-' + i + '.yaml']: std.manifestYamlStream(service(i))
    for i in std.range(1, n)
  }
