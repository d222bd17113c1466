# The SCSM paper's schedule (Sec. 5.3): mmseg's 80k SGD schedule (lr 0.01, momentum 0.9, poly 0.9 to 1e-4, no
# warm-up) with weight decay 1e-4 instead of 5e-4. Shared by the SCSM and LOGCAN++ configs.
_base_ = ['./schedule_80k.py']
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
