import Testing

@Test func interopTestsBuilds() {
    #expect(Bool(true))
}
