"""pomdb's engine: POMDP models, beliefs, policies, episodes and training.

Nothing here knows the Debug Adapter Protocol; `adapter` maps these concepts onto it.
"""
