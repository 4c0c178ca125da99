"""The device register's files, formats only (bytes in and values out, values in and bytes out):

reading    an uploaded .xlsx or .csv register as rows of cell values, within limits
register   which column holds which field, what a cell means, and the rows the exports write
privacy    the workbook that answers a Privacy Act request
"""
