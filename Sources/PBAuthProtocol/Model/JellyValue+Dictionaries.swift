import Banana

extension JellyDictionary {
    /// A dict with str keys, in the given order (the order Python sees).
    public static func stringKeyed(_ pairs: [(String, JellyValue)]) -> JellyDictionary {
        JellyDictionary(pairs.map { (key: .string($0.0), value: $0.1) })
    }
}

extension JellyValue {
    /// A dict value with str keys, in the given order.
    public static func stringKeyedDictionary(_ pairs: [(String, JellyValue)]) -> JellyValue {
        .dictionary(.stringKeyed(pairs))
    }
}
