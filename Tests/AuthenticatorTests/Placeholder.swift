import Testing

@Test func authenticatorTestsBuilds() {
    #expect(Bool(true))
}
