<?php
declare(strict_types=1);

namespace Convtrack;

/** The call needs a setting that is absent (e.g. track() without outbox_path). */
class NotConfiguredException extends ConvtrackException
{
}
