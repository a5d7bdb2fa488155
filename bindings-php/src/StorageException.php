<?php
declare(strict_types=1);

namespace Convtrack;

/** The outbox (SQLite) cannot be opened or written. */
class StorageException extends ConvtrackException
{
}
