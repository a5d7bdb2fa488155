<?php
declare(strict_types=1);

namespace Convtrack;

/** event_time more than 7 days old (Meta rejects it) or more than 5 minutes in the future. */
class EventTimeException extends InputException
{
}
