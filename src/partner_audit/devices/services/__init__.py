"""The device register's rules, HTTP-free, each taking a Caller and checking its policy:

register      devices: registering, editing, finding, their status by hand
assignments   checking out, in and across to the next holder; assignment lists, exceptions, a device's history
incidents     losses, thefts, damage, misuse and near misses
breaches      the privacy breach assessment every incident starts
attestations  holders confirming they still hold their device, by emailed link or in person
imports       the register loaded from an .xlsx or .csv file
exports       the register, and one holder's history, out as .xlsx or .csv
privacy       a holder's Privacy Act request, and the retention rule that redacts their details
visibility    what every part shares: which devices a caller sees, and holder details shown only to those who may
"""
