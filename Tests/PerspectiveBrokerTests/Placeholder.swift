import Testing

@Test func perspectiveBrokerTestsBuilds() {
    #expect(Bool(true))
}
