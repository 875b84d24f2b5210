import PBAuthMetrics
import PBAuthProtocol
import Testing

/// The label values of pbauth's metrics come from fixed sets, whatever a peer sends.
@Suite("Metric labels")
struct MetricsLabelTests {
    @Test func everyFailureHasALabelOfItsOwn() {
        // A new AuthenticationFailure must get its label here, or it would count as "other".
        let names = AuthenticationFailure.allCases.map { String($0.typeName.dropFirst("pbauth.".count)) }
        #expect(Set(names).isSubset(of: Set(PBAuthMetrics.failureReasons)))
        #expect(Set(PBAuthMetrics.failureReasons).subtracting(names) == ["other"])
    }
}
