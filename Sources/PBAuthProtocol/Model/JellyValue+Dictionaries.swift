import Banana

extension JellyDictionary {
    /// A dict with str keys, in the given order (the order Python sees).
    public static func stringKeyed(_ pairs: [(String, JellyValue)]) -> JellyDictionary {
        var dictionary = JellyDictionary()
        for (key, value) in pairs { dictionary.entries.append((key: .string(key), value: value)) }
        return dictionary
    }
}

extension JellyValue {
    /// A dict value with str keys, in the given order.
    public static func stringKeyedDictionary(_ pairs: [(String, JellyValue)]) -> JellyValue {
        .dictionary(.stringKeyed(pairs))
    }
}
