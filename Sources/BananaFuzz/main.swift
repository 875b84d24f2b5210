print("BananaFuzz")
