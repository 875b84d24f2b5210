import Metrics
import PBAuthMetrics
import Prometheus

/// swift-metrics' backend for the process: Prometheus, bootstrapped once.
///
/// `MetricsSystem.bootstrap` may be called only once per process; `registry` does it on first
/// use and answers the same registry ever after, so a process (or a test process) that runs
/// several daemons' listeners bootstraps only once.
public enum PrometheusExport {
    private static let bootstrapped: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[PBAuthMetrics.Name.checkDuration] = PBAuthMetrics.checkDurationBuckets
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// The registry behind swift-metrics, bootstrapping it on first use. Call it before making
    /// anything that records metrics: handles made earlier stay on the no-op backend.
    public static var registry: PrometheusCollectorRegistry { bootstrapped }

    /// Everything recorded so far, in the Prometheus text format.
    public static func render() -> String {
        registry.emitToString()
    }
}
