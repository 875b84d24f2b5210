import Testing

@Test func accountStoreTestsBuilds() {
    #expect(Bool(true))
}
