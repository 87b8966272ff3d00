"""`localthink distill`: build a small reasoning model from a large teacher's verified traces.

Never imports textual; imports torch/transformers only inside the stages that train.
"""
