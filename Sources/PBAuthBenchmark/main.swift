print("pbauth-bench")
