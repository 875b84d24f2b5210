import Testing

@Test func bananaTestsBuilds() {
    #expect(Bool(true))
}
